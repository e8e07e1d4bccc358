"""Do the verdicts survive rounding? Every claim evaluated again on stored runs whose statistics
are perturbed at the size of rounding differences between machines or thread counts.

Two threads instead of one, or another CPU, change the stored probe statistics of a run by about
1e-4 relative (float sums in another order); the verdict policy (:func:`glorot.claims.decide`) is
meant to give the same verdicts on either. :func:`perturb` multiplies every float array of a run
by 1 + ``rel`` · N(0, 1), element by element; integer arrays (updates, predicted classes, labels)
are left alone. :func:`compare` evaluates the claims of the given topic modules on the stored runs
and again, for each of a few perturbation seeds, on perturbed copies, and lists the verdicts.

    python -m glorot.claims.stability --profile smoke

prints one line per claim and exits with status 1 when a verdict changed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import sys
from collections.abc import Iterator, Sequence
from unittest import mock

import numpy as np

from glorot.claims import ClaimResult, Verdict
from glorot.config import Profile, get_profile

REL = 1e-4  # the size of the perturbation, relative: what two threads do to probe statistics
TOPICS = ("saturation", "gradients", "errors")  # the claims measured on training runs
SEEDS = (1, 2, 3)  # perturbation streams


def _jitter(arrays: dict, rel: float, rng: np.random.Generator) -> dict:
    out = {}
    for k, v in arrays.items():
        v = np.asarray(v)
        if np.issubdtype(v.dtype, np.floating):
            v = v * (1 + rel * rng.standard_normal(v.shape))
        out[k] = v
    return out


def perturb(run, rel: float = REL, seed: int = 0):
    """A copy of ``run`` whose float statistics are multiplied by 1 + ``rel`` · N(0, 1)."""
    rng = np.random.default_rng([seed, int(run.config.key[:8], 16)])
    return dataclasses.replace(
        run, probes=_jitter(run.probes, rel, rng), evals=_jitter(run.evals, rel, rng)
    )


@contextlib.contextmanager
def perturbed_store(rel: float, seed: int) -> Iterator[None]:
    """While the block runs, every run the experiments (and the at-init claims) load from the
    store comes back perturbed by :func:`perturb`."""
    from glorot import experiments, store

    load, many = store.load_or_run, store.run_many

    def load_or_run(cfg, *args, **kwargs):
        return perturb(load(cfg, *args, **kwargs), rel, seed)

    def run_many(cfgs, *args, **kwargs):
        return [perturb(r, rel, seed) for r in many(cfgs, *args, **kwargs)]

    with (
        mock.patch.object(store, "load_or_run", load_or_run),
        mock.patch.object(experiments, "load_or_run", load_or_run),
        mock.patch.object(experiments, "run_many", run_many),
    ):
        yield


def evaluate(profile: Profile, topics: Sequence[str] = TOPICS) -> list[ClaimResult]:
    """Every claim of ``topics`` (modules of :mod:`glorot.claims`) at ``profile``."""
    results = []
    for topic in topics:
        results += importlib.import_module(f"glorot.claims.{topic}").evaluate(profile)
    return results


def compare(
    profile: Profile,
    topics: Sequence[str] = TOPICS,
    rel: float = REL,
    seeds: Sequence[int] = SEEDS,
) -> dict[str, list[Verdict]]:
    """{claim id: [verdict on the stored runs, then one per perturbation seed]}."""
    table = {r.id: [r.verdict] for r in evaluate(profile, topics)}
    for seed in seeds:
        with perturbed_store(rel, seed):
            for r in evaluate(profile, topics):
                table[r.id].append(r.verdict)
    return table


def changed(table: dict[str, list[Verdict]]) -> list[str]:
    """The claims whose verdict differs between the stored runs and a perturbed copy."""
    return [k for k, vs in table.items() if len(set(vs)) > 1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m glorot.claims.stability", description=__doc__)
    parser.add_argument("--profile", default="smoke", help="smoke, default, long or paper")
    parser.add_argument("--rel", type=float, default=REL, help="relative size of the perturbation")
    parser.add_argument("--topics", nargs="*", default=list(TOPICS), choices=TOPICS)
    args = parser.parse_args(argv)
    try:
        profile = get_profile(args.profile)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    table = compare(profile, args.topics, args.rel)
    short = {Verdict.PASS: "✔", Verdict.FAIL: "✗", Verdict.NOT_REACHED: "–"}
    print(f"claim  stored  perturbed ×{len(SEEDS)}   (– = not reached at this scale)")
    for claim, verdicts in table.items():
        print(f"{claim:>5}  {short[verdicts[0]]:^6}  " + " ".join(short[v] for v in verdicts[1:]))
    flipped = changed(table)
    print(
        f"verdicts changed under a {args.rel:g} relative perturbation: "
        + (", ".join(flipped) if flipped else "none")
    )
    return 1 if flipped else 0


if __name__ == "__main__":
    sys.exit(main())
