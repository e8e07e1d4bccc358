"""The paper's claims C1-C16 as checks: the paper's statement, a criterion, the measured value, a verdict.

The checks live beside this module, one module per part of the paper (``shapeset``, ``saturation``,
``gradients``, ``errors``); each ``check_*`` function takes measured arrays (or run records) and returns
a :class:`ClaimResult`.

Every verdict comes from one policy, :func:`decide` (:data:`POLICY`). A criterion is made of
conditions; each condition says whether it holds, whether the data tell that from noise (a paired
test at p < 0.005 where models are compared, the :data:`ROUNDING` band around a threshold where a
single measurement is compared with one), and whether the run could refute it (a claim about late
training cannot be refuted by a short run). ✔ needs every condition to hold significantly; ✗ needs
one condition broken significantly by a run that could refute it; anything else is "not reached at
this scale", with what would settle it.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass


class Verdict(str, enum.Enum):
    PASS = "✔"
    FAIL = "✗"
    NOT_REACHED = "not reached at this scale"

    def __str__(self) -> str:
        return self.value


# The paper's statements, by claim id (reference §3).
STATEMENTS: dict[str, str] = {
    "C1": "Sigmoid, 4 hidden layers: the top hidden layer's mean activation drops to ≈0 early in "
    "training; the lower layers' means stay above 0.5 and decrease from the top layer down (Fig. 2).",
    "C2": "The top layer slowly leaves saturation around epoch 100 (≈2M updates) while layer 1 starts "
    "to saturate; a depth-5 sigmoid network never escapes (Fig. 2).",
    "C3": "Tanh, standard init: layers saturate one after another, layer 1 first (Fig. 3, top).",
    "C4": "Softsign, standard init: layers saturate less, and together (Fig. 3, bottom).",
    "C5": "End of training: tanh activations have modes at the asymptotes ±1 and at 0; softsign's "
    "modes sit around ±(0.6–0.8), the knees (Fig. 4).",
    "C6": "The quadratic cost surface has more severe plateaus than the cross-entropy (Fig. 5).",
    "C7": "Tanh, 5 layers, at init: with the standard init activation histograms narrow toward higher "
    "layers; with the normalized init they are similar across layers (Fig. 6).",
    "C8": "At init, back-propagated gradients shrink toward lower layers with the standard init and "
    "stay roughly constant with the normalized init (Fig. 7).",
    "C9": "At init, weight gradients are roughly constant across layers even with the standard init "
    "(Fig. 8, eq. 14).",
    "C10": "At init, the mean singular value of the layer Jacobians is ≈0.5 with the standard init "
    "and ≈0.8 with the normalized init (§4.2.2).",
    "C11": "During training with the standard init the spread of weight gradients diverges across "
    "layers; the normalized init keeps it level (Fig. 9).",
    "C12": "Tanh with the normalized init behaves like softsign: no layer-by-layer saturation "
    "(Fig. 10).",
    "C13": "Shapeset test error, 5 hidden layers: Tanh N ≤ Softsign N ≈ Softsign < Tanh ≪ Sigmoid, "
    "sigmoid near chance (Fig. 11, Table 1).",
    "C14": "Test errors within a few points of Table 1.",
    "C15": "Softsign is more robust to the init than tanh: |Softsign − Softsign N| < |Tanh − Tanh N| "
    "(§5).",
    "C16": "The same qualitative ordering holds on the finite data sets MNIST and CIFAR-10 (Fig. 12, "
    "Table 1).",
}


def statement_of(claim_id: str) -> str:
    """The statement of a claim: the paper's (``STATEMENTS``) or that of a topic module beside this
    one which defines its own ``STATEMENTS`` (e.g. ``shapeset``: S1-S4)."""
    if claim_id in STATEMENTS:
        return STATEMENTS[claim_id]
    for topic in pkgutil.iter_modules(__path__):
        statements = getattr(importlib.import_module(f"{__name__}.{topic.name}"), "STATEMENTS", {})
        if claim_id in statements:
            return statements[claim_id]
    raise KeyError(f"unknown claim id {claim_id!r}: no module of {__name__} states it")


@dataclass(frozen=True)
class ClaimResult:
    """The outcome of one claim check."""

    id: str
    criterion: str  # what was tested, in words, with its thresholds
    measured: str  # the measured values that decided it
    verdict: Verdict
    scale: str = ""  # the profile (and runs) it came from
    figure: str = ""  # where the evidence is drawn (a chapter or figure label)

    @property
    def statement(self) -> str:
        return statement_of(self.id)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        d["statement"] = self.statement
        return d

    def _repr_markdown_(self) -> str:
        return (
            f"**{self.id}** {self.verdict.value} — {self.statement}\n\n"
            f"- criterion: {self.criterion}\n- measured: {self.measured}\n"
            f"- scale: {self.scale}"
        )


POLICY = (
    "✔ only when every condition of the criterion holds and is significant; ✗ only when a "
    "condition's opposite is significant in a run that could refute it; otherwise not reached at "
    "this scale, with what would settle it"
)
# Seeds that must agree before a comparison of trained models counts: the seed-to-seed spread is the
# noise of a measurement on one training run.
MIN_SEEDS = 3
# A measurement within this relative distance of its threshold is not told from it: rounding (one
# thread or two, another CPU) moves the stored statistics by about 1e-4 relative, ten times less.
ROUNDING = 1e-3


@dataclass(frozen=True)
class Condition:
    """One condition of a criterion, as :func:`decide` weighs it.

    ``holds``: it holds on the measured values; ``significant``: the data tell the side it falls on
    from noise; ``refutable``: a failure here would count against the claim at this scale (False
    while the run is shorter than the regime the claim is about); ``settle``: what would decide it
    when it is not significant or not refutable."""

    name: str
    holds: bool
    significant: bool = True
    refutable: bool = True
    settle: str = ""


def past(
    name: str, value: float, threshold: float, above: bool, scale: float | None = None, **kw
) -> Condition:
    """The condition ``value > threshold`` (``above``) or ``value < threshold`` on one
    measurement: significant when the value lies outside the :data:`ROUNDING` band around the
    threshold, relative to ``scale`` (default ``|threshold|``; give the size of the compared values
    when the threshold is 0). A NaN value holds nothing and is significant for nothing."""
    holds = value > threshold if above else value < threshold
    band = ROUNDING * (abs(threshold) if scale is None else abs(scale))
    significant = abs(value - threshold) > max(band, 1e-12)
    kw.setdefault("settle", f"a measurement further than {ROUNDING:g} relative from {threshold:g}")
    return Condition(name, bool(holds), bool(significant), **kw)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    note: str  # what would settle it (NOT_REACHED), or which conditions decided it


def decide(conditions: Iterable[Condition]) -> Decision:
    """The one verdict policy of every claim (:data:`POLICY`).

    PASS when every condition holds significantly; FAIL when some condition is broken, significantly,
    and refutable at this scale; NOT_REACHED otherwise, with the ``settle`` text of each condition
    left undecided."""
    conditions = list(conditions)
    if not conditions:
        raise ValueError("a claim needs at least one condition to be decided")
    refuted = [c for c in conditions if not c.holds and c.significant and c.refutable]
    if refuted:
        return Decision(Verdict.FAIL, "broken: " + "; ".join(c.name for c in refuted))
    if all(c.holds and c.significant for c in conditions):
        return Decision(Verdict.PASS, "")
    by_settle: dict[str, list[str]] = {}
    for c in conditions:
        if not (c.holds and c.significant):
            by_settle.setdefault(c.settle, []).append(c.name)
    settle = ["; ".join(names) + (f" ({how})" if how else "") for how, names in by_settle.items()]
    return Decision(Verdict.NOT_REACHED, "to settle: " + "; ".join(settle))


def judge(
    id_: str,
    criterion: str,
    measured: str,
    conditions: Iterable[Condition],
    scale: str = "",
    figure: str = "",
) -> ClaimResult:
    """A :class:`ClaimResult` whose verdict is :func:`decide` of ``conditions``; the decision's
    note (what broke it, or what would settle it) ends the measured text."""
    d = decide(conditions)
    measured = f"{measured}; {d.note}" if d.note else measured
    return ClaimResult(id_, criterion, measured, d.verdict, scale, figure)


def over_seeds(
    results: Sequence[ClaimResult], seeds: Sequence[int], comparison: bool
) -> ClaimResult:
    """One claim judged on the runs of each seed (``results[k]`` on seed ``seeds[k]``), as one
    verdict under the same policy: a verdict holds across seeds only when every seed gives it, and,
    for a claim that ``comparison``s models, only on at least :data:`MIN_SEEDS` seeds; otherwise
    the claim is not reached, and the seeds that would settle it are named. The measured text is
    the first seed's, followed by every seed's verdict."""
    results, seeds = list(results), list(seeds)
    if not results or len(results) != len(seeds):
        raise ValueError(f"{len(results)} results for {len(seeds)} seeds: give one per seed")
    first = results[0]
    verdicts = [r.verdict for r in results]
    agree = len(set(verdicts)) == 1
    enough = not comparison or len(results) >= MIN_SEEDS
    verdict = verdicts[0] if agree and enough else Verdict.NOT_REACHED
    # The criterion reads the same at every scale, whatever the number of seeds.
    least = f" on ≥ {MIN_SEEDS} seeds" if comparison else ""
    criterion = f"{first.criterion}; the same verdict on every seed{least}"
    if len(results) == 1 and enough:  # one seed of a claim about one model: its own words
        return ClaimResult(first.id, criterion, first.measured, verdict, first.scale, first.figure)
    per_seed = ", ".join(f"seed {s} {v.value}" for s, v in zip(seeds, verdicts, strict=True))
    measured = f"seed {seeds[0]}: {first.measured}; per seed: {per_seed}"
    if not agree:
        measured += "; to settle: seeds that agree"
    elif not enough:
        measured += f"; to settle: ≥ {MIN_SEEDS} seeds that agree"
    return ClaimResult(first.id, criterion, measured, verdict, first.scale, first.figure)
