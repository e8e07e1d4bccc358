"""The ``glorot`` command: build the book, re-run a chapter, train one network, draw Shapeset.

Every argument, and every GLOROT_* environment variable, is checked before any work starts; a bad
one ends the command with exit code 2 and one line that names the problem and the valid choices.
Ctrl-C or SIGTERM end it with one line and exit code 130 (a run in progress keeps its checkpoint).
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import io
import math
import os
import signal
import sys
import threading
from pathlib import Path

from glorot import config
from glorot.book import ChapterError, resolve_profile
from glorot.config import (
    PROFILES,
    ConfigError,
    RunConfig,
    check_environment,
    check_int,
    memory_limit,
)
from glorot.outputs import check_out, write_out

SHAPESET_SUFFIXES = (".png", ".npz")
EXIT_USAGE, EXIT_INTERRUPTED = 2, 130
SHAPESET_BYTES = 3 * 4 * 32 * 32  # per image: float32 pixels, the rasteriser's buffers, the file


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (no usage block), exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def _book(args: argparse.Namespace) -> int:
    from glorot import book, published, store

    root = book.find_root()
    profile = book.resolve_profile(args.profile)
    for name in args.only:
        book.chapter_path(root, name)
    if args.recompute and args.only:
        raise ConfigError("--recompute trains every run of the book; drop --only")
    if args.recompute:
        # Neither the committed records nor the cache: every run is trained again (kernels
        # inherit the environment, so the chapters read the new runs).
        os.environ[store.RECORDS_ENV] = "off"
    elif profile.name == book.PUBLISHED or published.folder(profile).is_dir():
        for line in published.audit(profile).lines():
            print(line)
    if not args.only:
        from glorot.plan import prepare

        if args.recompute:
            print(f"training every run of the book at {profile.name} scale again")
        else:
            print(
                f"computing the runs of the book at {profile.name} scale (stored ones are reused)"
            )
        prepare(profile, progress=True, force=args.recompute)
    target = book.execute_book(root, profile, only=args.only, force=args.force or args.recompute)
    if args.no_build:
        print(f"executed notebooks are in {target / book.BOOK_DIR}")
        return 0
    print("building the HTML (jupyter-book, warnings as errors)")
    index = book.build_html(target)
    print(f"the book is at {index}")
    return 0


RECORD_ACTIONS = ("check", "export", "verify")
RECORD_HELP = (
    "check: what results/<profile>/ holds against the runs the chapters read (stale ones by "
    "name); export: copy the computed runs there; verify: retrain K records and compare"
)


def _records(args: argparse.Namespace) -> int:
    from glorot import published

    profile = resolve_profile(args.profile)
    if args.action == "check":
        found = published.audit(profile)
        print("\n".join(found.lines()))
        return 0 if found.complete else 1
    if args.action == "export":
        found = published.export(profile, prune=args.prune)
        print("\n".join(found.lines()))
        return 0
    check_int("-k", args.k, 1)
    from glorot.reproduce import verify

    results = verify(profile, args.k, args.key)
    return 0 if all(r.verdict == "identical" for r in results) else 1


def _run(args: argparse.Namespace) -> int:
    from glorot import book

    root = book.find_root()
    values = book.check_parameters(book.chapter_path(root, args.chapter), args.param)
    scale = resolve_profile(args.profile or values.get("profile"))
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    scale.config(**{k: v for k, v in values.items() if k in fields}).check_fits()
    if args.out is not None:
        check_out(args.out)
    out = book.run_chapter(root, args.chapter, args.param, out=args.out, profile=args.profile)
    print(f"executed notebook: {out}")
    return 0


def _shapeset(args: argparse.Namespace) -> int:
    import numpy as np

    from glorot.shapeset import sample

    out = Path(args.out)
    if out.suffix not in SHAPESET_SUFFIXES:
        raise ConfigError(
            f"cannot write Shapeset examples to {out.name!r}; "
            f"the file name must end in {' or '.join(SHAPESET_SUFFIXES)}"
        )
    if args.n < 1:
        raise ConfigError(f"--n must be an integer >= 1 (number of images), got {args.n}")
    check_int("--seed", args.seed, 0)
    need, available = args.n * SHAPESET_BYTES, memory_limit()
    if available and need > available // 2:
        raise ConfigError(
            f"--n {args.n:,} images need about {need / 2**30:,.1f} GiB of memory and this "
            f"machine has {available / 2**30:,.1f} GiB; draw fewer at a time"
        )
    check_out(out)
    batch = sample(args.n, np.random.default_rng(args.seed))
    buf = io.BytesIO()
    if out.suffix == ".png":
        from glorot.figures import shapeset_grid, theme

        theme()
        shapeset_grid(batch.images, batch.labels).savefig(buf, format="png")
    else:
        np.savez_compressed(buf, images=batch.images, labels=batch.labels, **batch.factors)
    write_out(out, buf.getvalue())
    print(f"{args.n} Shapeset-3x2 examples (seed {args.seed}) written to {out}")
    return 0


TRAIN_OPTIONS = ("activation", "init", "depth", "width", "lr", "updates", "batch", "seed", "device")


def _percent(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{100 * x:.2f}%"


def _train(args: argparse.Namespace) -> int:
    profile = resolve_profile(args.profile)
    given = {name: getattr(args, name) for name in TRAIN_OPTIONS if getattr(args, name) is not None}
    cfg = profile.config(**given)
    cfg.check_fits()
    from glorot.store import load_or_run, outcome, strict_json, summary

    run = load_or_run(cfg, progress=not args.json, profile=profile.name)
    if args.json:
        print(strict_json(summary(run)))
        return 0
    final = run.final
    print(f"{cfg.label}, {cfg.init} init, key {cfg.key}, {profile.name} scale")
    print(
        f"  {cfg.updates:,} updates of batch {cfg.batch}, width {cfg.width}, lr {cfg.lr}, "
        f"seed {cfg.seed}, device {cfg.device}"
    )
    if final["diverged"]:
        print(f"  {outcome(run)}")
    else:
        print(
            f"  test error {_percent(final['test_error'])}, "
            f"validation error {_percent(final['validation_error'])}"
        )
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from glorot import sweep

    return sweep.command(args.profile, args.only, args.scheduler, args.workers)


DATA_ACTIONS = ("where", "verify", "download")


def _data(args: argparse.Namespace) -> int:
    from glorot import datasets

    if args.name not in datasets.DATASETS:
        raise ConfigError(
            f"unknown data set {args.name!r}; choose one of {', '.join(datasets.DATASETS)}"
        )
    if args.dir is not None and Path(args.dir).exists() and not Path(args.dir).is_dir():
        raise ConfigError(f"--dir {args.dir} is a file, not a folder")
    try:
        if args.action == "download":
            print(f"{args.name}: stored in {datasets.download(args.name, args.dir)}")
        elif args.action == "verify":
            for name, status in datasets.verify(args.name, args.dir).items():
                print(f"{name}: {status}")
        else:
            print(datasets.locate(args.name, args.dir))
    except (datasets.DataMissing, datasets.DataCorrupt) as exc:
        print(f"glorot data: {exc}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="glorot",
        description="An executable edition of Glorot & Bengio (2010), Understanding the "
        "difficulty of training deep feedforward neural networks.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    profiles = list(PROFILES)

    p = sub.add_parser("book", help="execute every chapter with papermill, then build the HTML")
    p.add_argument("--profile", choices=profiles, help="scale (default: $GLOROT_PROFILE or long)")
    p.add_argument("--only", nargs="+", default=[], metavar="CHAPTER", help="only these chapters")
    p.add_argument("--force", action="store_true", help="execute chapters that are up to date too")
    p.add_argument("--no-build", action="store_true", help="execute only, build no HTML")
    p.add_argument(
        "--recompute",
        action="store_true",
        help="train every run again, ignoring the committed records and the cache (hours at "
        "long scale); `glorot records export` then commits them",
    )
    p.set_defaults(func=_book)

    p = sub.add_parser("records", help="the committed records (results/): check, export, verify")
    p.add_argument("action", choices=RECORD_ACTIONS, help=RECORD_HELP)
    p.add_argument("--profile", choices=profiles, help="scale (default: the published one)")
    p.add_argument("-k", type=int, default=1, help="verify: how many records (default 1)")
    p.add_argument("--key", nargs="+", default=[], help="verify: these records")
    p.add_argument("--prune", action="store_true", help="export: remove the stale records")
    p.set_defaults(func=_records)

    p = sub.add_parser("run", help="re-execute one chapter with new parameters")
    p.add_argument("chapter", help="chapter name, e.g. 02_sigmoid")
    p.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a parameter of the chapter's parameters cell (repeatable)",
    )
    p.add_argument("--out", type=Path, help="executed notebook (default: _build/runs/...)")
    p.add_argument("--profile", choices=profiles, help="scale of the run")
    p.set_defaults(func=_run)

    p = sub.add_parser("train", help="train (or load) one network and summarise it")
    p.add_argument("--activation", help=", ".join(config.ACTIVATION_NAMES))
    p.add_argument("--init", help=", ".join(config.INIT_NAMES))
    p.add_argument("--depth", type=int, help="hidden layers")
    p.add_argument("--width", type=int, help="units per hidden layer")
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--updates", type=int, help="SGD updates; 0 probes at initialization only")
    p.add_argument("--batch", type=int, help="mini-batch size")
    p.add_argument("--seed", type=int, help="seed of the initialization and the data stream")
    p.add_argument("--device", help="cpu or cuda[:N]")
    p.add_argument("--profile", choices=profiles, help="scale whose values fill the rest")
    p.add_argument("--json", action="store_true", help="print one JSON summary and nothing else")
    p.set_defaults(func=_train)

    p = sub.add_parser("sweep", help="compute the book's runs on a Dask cluster (glorot[cluster])")
    p.add_argument(
        "--profile", choices=profiles, help="scale (default: $GLOROT_PROFILE or default)"
    )
    p.add_argument("--only", nargs="+", default=[], metavar="CHAPTER", help="only these chapters")
    p.add_argument(
        "--scheduler",
        required=True,
        metavar="ADDRESS",
        help="a Dask scheduler (tcp://HOST:PORT), or local for a cluster on this machine",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local: worker processes (default: $GLOROT_WORKERS or one per core); "
        "an address: workers to wait for (default 1)",
    )
    p.set_defaults(func=_sweep)

    p = sub.add_parser("shapeset", help="draw Shapeset-3x2 examples into a .png grid or a .npz")
    p.add_argument("--n", type=int, default=32, help="number of images (default 32)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--out", required=True, help="FILE.png (a labelled grid) or FILE.npz (arrays)")
    p.set_defaults(func=_shapeset)

    p = sub.add_parser("data", help="where the finite data sets go; verify or download them")
    p.add_argument("action", choices=DATA_ACTIONS, help="where, verify or download")
    p.add_argument("name", help="mnist, fashion-mnist or cifar10")
    p.add_argument("--dir", help="data directory (default: $GLOROT_DATA, else data/)")
    p.set_defaults(func=_data)

    # Listed for --help only: main() hands everything after "bench" to glorot.bench untouched.
    sub.add_parser("bench", help="time training and probing (glorot bench --help for its options)")
    return parser


def _bench(argv: list[str]) -> int:
    """``glorot bench``: its own options, after the thread count is checked here."""
    pre = _Parser(prog="glorot bench", add_help=False)
    pre.add_argument("--threads", type=int)
    known, _ = pre.parse_known_args(argv)
    if known.threads is not None and not 1 <= known.threads <= 4096:
        raise ConfigError(f"--threads must be an integer in [1, 4096], got {known.threads}")
    from glorot import bench

    return bench.main(argv) or 0


def _os_error(err: OSError) -> str:
    """One line for a failed read or write: what, where, and what to do."""
    where = f" ({err.filename})" if err.filename else ""
    if err.errno == errno.ENOSPC:
        return (
            f"no space left on the device{where}; free some space or point GLOROT_CACHE elsewhere"
        )
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{err.strerror}{where}; point GLOROT_CACHE (or --out) at a writable folder"
    return f"{err.strerror or err}{where}"


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = f"glorot {argv[0]}" if argv and not argv[0].startswith("-") else "glorot"
    if threading.current_thread() is threading.main_thread():
        # SIGTERM ends the command as Ctrl-C does: a run keeps its checkpoint, one line, 130.
        signal.signal(signal.SIGTERM, _terminate)
    try:
        check_environment()
        if argv[:1] == ["bench"]:
            return _bench(argv[1:])
        args = _parser().parse_args(argv)
        return args.func(args)
    except ConfigError as exc:
        return _fail(EXIT_USAGE, f"{command}: error: {exc}")
    except ChapterError as exc:
        return _fail(1, f"{command}: {exc}")
    except KeyboardInterrupt:
        return _fail(EXIT_INTERRUPTED, f"{command}: interrupted; a run resumes where it stopped")
    except OSError as exc:
        return _fail(EXIT_USAGE, f"{command}: error: {_os_error(exc)}")


def _fail(code: int, line: str) -> int:
    """Print ``line`` (flattened to one line) on stderr and exit with ``code``."""
    print(" ".join(line.split()), file=sys.stderr)
    raise SystemExit(code)


if __name__ == "__main__":
    sys.exit(main())
