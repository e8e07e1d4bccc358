"""The committed records of the published book: export, audit and re-verification.

The runs the chapters read at a profile are committed in ``results/<profile>/<key>/``, in the
record format of :mod:`glorot.records` (the arrays deflated). The store reads them before the
cache (:func:`glorot.store.tiers`), so a fresh clone renders the book from them without training.

- :func:`audit` compares the folder with the runs the code asks for now, chapter by chapter: what
  is committed, what is only in the cache, what is missing, and which committed records are
  *stale*, whose key no configuration of the code produces any more. A stale record is never read
  (a key is a content address), and the audit names it, with the chapter and the run it stood for
  and what changed.
- :func:`export` copies the planned runs from the cache into the folder, nothing else: no
  checkpoint, no run that no chapter reads.
- :mod:`glorot.reproduce` retrains chosen records from scratch and compares them, array by
  array, with the committed ones.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glorot import store
from glorot.config import ConfigError, Profile, RunConfig
from glorot.records import read, write
from glorot.run import Run

BUDGET_BYTES = 25 * 2**20  # what the committed records of a profile may weigh in all
# The fields that say which network a run is: a stale record is matched to the planned run that
# agrees on most of them, then on most of the others.
IDENTITY = ("dataset", "activation", "init", "depth", "width", "cost", "seed")


def folder(profile: Profile | str) -> Path:
    """``results/<profile>/`` in the repository."""
    name = profile.name if isinstance(profile, Profile) else str(profile)
    return store.records_root() / name


def describe(cfg: RunConfig) -> str:
    """A run named for a reader: 'Tanh N d5, seed 1, ε = 0.03, 400,000 updates'."""
    return f"{cfg.label}, seed {cfg.seed}, ε = {cfg.lr:g}, {cfg.updates:,} updates"


@dataclass
class Planned:
    """A run the code asks for, and the chapters that read it."""

    config: RunConfig
    chapters: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Stale:
    """A committed record that no configuration of the code produces any more."""

    key: str
    run: str  # describe() of its config
    chapters: tuple[str, ...]  # chapters that read the run it stood for
    why: str


@dataclass
class Audit:
    profile: str
    committed: list[str]  # planned keys held in results/<profile>/
    cached: list[str]  # planned keys only in the cache
    missing: list[Planned]  # planned runs stored nowhere
    stale: list[Stale]
    undecided: list[str]  # chapters whose main runs wait on missing selection runs
    planned: dict[str, Planned]

    @property
    def complete(self) -> bool:
        """Every planned run is committed and no committed record is stale."""
        return not (self.cached or self.missing or self.stale or self.undecided)

    def lines(self) -> list[str]:
        """The audit in words, one finding per line."""
        where = folder(self.profile).relative_to(store.records_root().parent)
        out = [
            f"{where}/: {len(self.committed)} of the {len(self.planned)} runs the chapters read "
            f"at {self.profile} scale are committed; {len(self.cached)} only in the cache; "
            f"{len(self.missing)} stored nowhere; {len(self.stale)} stale"
        ]
        for s in self.stale:
            out.append(
                f"  stale: {s.key} ({s.run}; {', '.join(s.chapters) or 'no chapter'}): {s.why}"
            )
        for p in self.missing:
            out.append(
                f"  to compute: {p.config.key} ({describe(p.config)}; {', '.join(p.chapters)})"
            )
        for chapter in self.undecided:
            out.append(f"  {chapter}: its main runs wait on the learning-rate selection runs")
        return out


def _located(key: str, committed: Path) -> str:
    """'committed', 'cached' or 'missing'."""
    if (committed / key / "meta.json").is_file():
        return "committed"
    return "cached" if (store.cache_dir() / "runs" / key / "meta.json").is_file() else "missing"


def plan_runs(profile: Profile) -> tuple[dict[str, Planned], list[str]]:
    """{key: Planned} of every run the chapters read at ``profile``, and the chapters whose main
    runs cannot be named yet (their selection runs are stored nowhere). Trains nothing."""
    from glorot.plan import CHAPTERS, plan

    planned: dict[str, Planned] = {}
    undecided = []

    def add(cfgs: Sequence[RunConfig], chapter: str) -> None:
        for cfg in cfgs:
            planned.setdefault(cfg.key, Planned(cfg)).chapters.append(chapter)

    for chapter in CHAPTERS:
        if chapter == "scorecard":
            continue  # it reads the other chapters' runs
        p = plan(profile, [chapter])
        first = p.first()
        add(first, chapter)
        if all(store.locate(c.key) for c in first):
            add(p.then(), chapter)  # the selections are stored: nothing is trained here
        elif p.needs.mains:
            undecided.append(chapter)
    return planned, undecided


def _nearest(cfg: dict, planned: dict[str, Planned]) -> tuple[Planned | None, list[str]]:
    """The planned run closest to a committed record's config, and the fields that differ."""
    best, fields, rank = None, None, None
    for p in planned.values():
        diff = sorted(k for k, v in p.config.to_dict().items() if cfg.get(k) != v)
        this = (len(set(diff) & set(IDENTITY)), len(diff))
        if rank is None or this < rank:
            best, fields, rank = p, diff, this
    return best, fields or []


def audit(profile: Profile) -> Audit:
    """What ``results/<profile>/`` holds against what the chapters read now (trains nothing)."""
    committed_dir = folder(profile)
    planned, undecided = plan_runs(profile)
    state = {key: _located(key, committed_dir) for key in planned}
    stale = []
    for meta_path in sorted(committed_dir.glob("*/meta.json")):
        key = meta_path.parent.name
        if key in planned:
            continue
        try:
            cfg = json.loads(meta_path.read_text()).get("config", {})
        except (OSError, ValueError):
            stale.append(Stale(key, "unreadable record", (), "its meta.json does not load"))
            continue
        near, diff = _nearest(cfg, planned)
        try:
            name = describe(RunConfig(**cfg))
        except (TypeError, ConfigError):
            name = "a run of an older layout"
        if near is None:
            why = "no chapter reads a run like it"
        elif diff:
            why = f"the code's run ({near.config.key}) differs in {', '.join(diff)}"
        else:
            why = "same parameters, another code salt or generator version: recompute it"
        chapters = tuple(near.chapters) if near else ()
        stale.append(Stale(key, name, chapters, why))
    return Audit(
        profile=profile.name,
        committed=[k for k, s in state.items() if s == "committed"],
        cached=[k for k, s in state.items() if s == "cached"],
        missing=[planned[k] for k, s in state.items() if s == "missing"],
        stale=stale,
        undecided=undecided,
        planned=planned,
    )


MANIFEST = "manifest.json"  # beside the records: where and from what they were exported


def cpu_model() -> str:
    """The processor's name as the system reports it ('unknown' where it does not)."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _write_manifest(target: Path, profile: Profile) -> None:
    import os
    import platform

    from glorot.provenance import atomic_write_text, git_commit

    records = sorted(p.parent.name for p in target.glob("*/meta.json"))
    manifest = {
        "profile": profile.name,
        "records": len(records),
        "exported_on": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "system": platform.platform(),
            "commit": git_commit(),
        },
        "keys": records,
    }
    atomic_write_text(target / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def size(path: Path) -> int:
    """Bytes of every file under ``path``."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def export(profile: Profile, prune: bool = False, log: Callable[[str], None] = print) -> Audit:
    """Copy every planned run that is only in the cache into ``results/<profile>/`` (verified on
    the way, arrays deflated); with ``prune``, remove the stale records. Returns the audit after.

    Refuses to leave the folder over :data:`BUDGET_BYTES`."""
    found = audit(profile)
    target = folder(profile)
    target.mkdir(parents=True, exist_ok=True)
    for key in found.cached:
        cfg = found.planned[key].config
        run = read(store.cache_dir() / "runs" / key, cfg)
        if not isinstance(run, Run):
            raise ConfigError(f"the cached record {key} does not verify ({run}); recompute it")
        write(run, target / key, compress=True)
        log(f"committed {key}: {describe(cfg)}")
    if prune:
        for s in found.stale:
            shutil.rmtree(target / s.key)
            log(f"removed stale {s.key}: {s.run}")
    _write_manifest(target, profile)
    total = size(target)
    if total > BUDGET_BYTES:
        raise ConfigError(
            f"{target} weighs {total / 2**20:.1f} MiB, over the {BUDGET_BYTES / 2**20:.0f} MiB "
            "budget of committed records; probe less often or drop runs no chapter reads"
        )
    log(f"{target}: {total / 2**20:.1f} MiB")
    return audit(profile)


def note(profile: Profile) -> str:
    """One paragraph for the top of a page: the scale it is made at, and the records it reads."""
    where = folder(profile)
    metas = []
    for path in sorted(where.glob("*/meta.json")) if store.tiers() else ():
        try:
            metas.append(json.loads(path.read_text()).get("provenance", {}))
        except (OSError, ValueError):
            continue
    scale = f"**Scale: {profile.name}**, {profile.description}."
    if not metas:
        return (
            f"{scale} Its runs are read from the store's cache and computed where missing "
            f"(no committed records in `results/{profile.name}/`)."
        )
    commits = sorted({str(m.get("git_commit", "unknown"))[:12] for m in metas})
    devices = sorted({str(m.get("device", "unknown")) for m in metas})
    hours = sum(float(m.get("wall_s") or 0.0) for m in metas) / 3600
    torch_versions = sorted({str(m.get("torch", "unknown")) for m in metas})
    return (
        f"{scale} Its runs are read from the {len(metas)} records committed in "
        f"`results/{profile.name}/` (checksums verified on reading; what they lack is computed "
        f"here): {hours:.1f} hours of training in all, on {', '.join(devices)}, torch "
        f"{', '.join(torch_versions)}, at commit {', '.join(commits)}."
    )


def speed_markdown(profile: Profile) -> str:
    """A Markdown table of the runs the chapters read at ``profile``, as they were measured: per
    model and length, how many runs, their training speed and their wall time, from each stored
    record's provenance (runs stored nowhere are counted apart)."""
    from glorot.markdown import table

    planned, _ = plan_runs(profile)
    groups: dict[tuple[str, int, int], list[dict]] = {}
    absent = 0
    for key, p in planned.items():
        where = store.locate(key)
        if where is None:
            absent += 1
            continue
        try:
            prov = json.loads((where / "meta.json").read_text()).get("provenance", {})
        except (OSError, ValueError):
            absent += 1
            continue
        groups.setdefault((p.config.label, p.config.width, p.config.updates), []).append(prov)
    rows = []
    for (label, width, updates), provs in sorted(
        groups.items(), key=lambda kv: (-kv[0][2], kv[0][0], kv[0][1])
    ):
        speeds = [float(v["updates_per_s"]) for v in provs if v.get("updates_per_s")]
        wall = sum(float(v.get("wall_s") or 0.0) for v in provs)
        speed = f"{np.mean(speeds):,.0f}" if speeds and updates else "—"
        rows.append(
            [label, str(width), f"{updates:,}", str(len(provs)), speed, f"{wall / 60:,.1f}"]
        )
    head = ["network", "width", "updates", "runs", "updates/s (mean)", "minutes (all runs)"]
    text = table(head, rows)
    if absent:
        text += f"\n\n{absent} of the runs are stored nowhere yet."
    return text
