"""The ``glorot`` command: build the book, re-run a chapter, train one network, draw Shapeset.

Every argument is checked before any work starts; a bad one ends the command with exit code 2
and a message that names the problem and the valid choices.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from glorot import config
from glorot.book import ChapterError, resolve_profile
from glorot.config import PROFILES, ConfigError

SHAPESET_SUFFIXES = (".png", ".npz")


def _book(args: argparse.Namespace) -> int:
    from glorot import book

    root = book.find_root()
    profile = book.resolve_profile(args.profile)
    for name in args.only:
        book.chapter_path(root, name)
    if not args.only:
        from glorot.experiments import prepare

        print(f"computing the runs of the book at {profile.name} scale (stored ones are reused)")
        prepare(profile, progress=True)
    target = book.execute_book(root, profile, only=args.only, force=args.force)
    if args.no_build:
        print(f"executed notebooks are in {target / book.BOOK_DIR}")
        return 0
    print("building the HTML (jupyter-book, warnings as errors)")
    index = book.build_html(target)
    print(f"the book is at {index}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from glorot import book

    root = book.find_root()
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
    if args.seed < 0:
        raise ConfigError(f"--seed must be an integer >= 0, got {args.seed}")
    batch = sample(args.n, np.random.default_rng(args.seed))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".png":
        from glorot.figures import shapeset_grid, theme

        theme()
        shapeset_grid(batch.images, batch.labels).savefig(out)
    else:
        np.savez_compressed(out, images=batch.images, labels=batch.labels, **batch.factors)
    print(f"{args.n} Shapeset-3x2 examples (seed {args.seed}) written to {out}")
    return 0


TRAIN_OPTIONS = ("activation", "init", "depth", "width", "lr", "updates", "batch", "seed", "device")


def _percent(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{100 * x:.2f}%"


def _train(args: argparse.Namespace) -> int:
    profile = resolve_profile(args.profile)
    given = {name: getattr(args, name) for name in TRAIN_OPTIONS if getattr(args, name) is not None}
    cfg = profile.config(**given)
    from glorot.store import load_or_run

    run = load_or_run(cfg, progress=not args.json, profile=profile.name)
    if args.json:
        print(json.dumps(run.to_summary()))
        return 0
    final = run.final
    print(f"{cfg.label}, {cfg.init} init, key {cfg.key}, {profile.name} scale")
    print(
        f"  {cfg.updates:,} updates of batch {cfg.batch}, width {cfg.width}, lr {cfg.lr}, "
        f"seed {cfg.seed}, device {cfg.device}"
    )
    if final["diverged"]:
        print(f"  diverged at update {run.diverged_at}")
    else:
        print(
            f"  test error {_percent(final['test_error'])}, "
            f"validation error {_percent(final['validation_error'])}"
        )
    return 0


DATA_ACTIONS = ("where", "verify", "download")


def _data(args: argparse.Namespace) -> int:
    from glorot import datasets

    if args.name not in datasets.DATASETS:
        raise ConfigError(
            f"unknown data set {args.name!r}; choose one of {', '.join(datasets.DATASETS)}"
        )
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
    parser = argparse.ArgumentParser(
        prog="glorot",
        description="An executable edition of Glorot & Bengio (2010), Understanding the "
        "difficulty of training deep feedforward neural networks.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    profiles = list(PROFILES)

    p = sub.add_parser("book", help="execute every chapter with papermill, then build the HTML")
    p.add_argument(
        "--profile", choices=profiles, help="scale (default: $GLOROT_PROFILE or default)"
    )
    p.add_argument("--only", nargs="+", default=[], metavar="CHAPTER", help="only these chapters")
    p.add_argument("--force", action="store_true", help="execute chapters that are up to date too")
    p.add_argument("--no-build", action="store_true", help="execute only, build no HTML")
    p.set_defaults(func=_book)

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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        from glorot import bench

        return bench.main(argv[1:]) or 0
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        parser.exit(2, f"glorot {args.command}: error: {exc}\n")
    except ChapterError as exc:
        parser.exit(1, f"glorot {args.command}: {exc}\n")


if __name__ == "__main__":
    sys.exit(main())
