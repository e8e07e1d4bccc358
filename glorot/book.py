"""Execute the book's chapters with papermill, then build the pages with Jupyter Book.

The list of chapters lives in one place, ``_toc.yml``; the chapters of it that exist as notebooks
are the ones executed. The book itself executes nothing (``execute_notebooks: "off"``): it renders
the outputs that papermill stored.

- The published profile (``long``) executes the notebooks in place: the committed notebooks carry
  its outputs, made from the committed records (:mod:`glorot.published`).
- Another profile executes into a copy of the book under ``_build/<profile>/`` and builds it there,
  so that committed notebooks never receive smoke, default or paper outputs.
- A chapter whose stamp (a hash of its input cells, its parameters and the library's source) is
  the one stored in its executed notebook is up to date and not executed again.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import nbformat
import yaml

from glorot import lineage
from glorot.config import ConfigError, Profile
from glorot.executed import (
    FIGURE_TAG,
    missing_figures,
    tidy,
)
from glorot.lineage import execution_stamp as stamp
from glorot.lineage import stored_stamp, write_stamp
from glorot.parameters import (
    PUBLISHED,
    _literal,
    check_parameters,
    check_run_values,
    parameters,
    resolve_profile,
)

_PACKAGE = Path(__file__).resolve().parent
KERNEL = "python3"  # the kernel ipykernel installs in the environment's share/jupyter/kernels
BOOK_DIR = "book"
BOOK_FILES = ("_config.yml", "_toc.yml")
STATIC_DIR = "_static"  # the book's stylesheets, next to _config.yml
# A code cell tagged so must display at least one image when executed, at any scale.
# The kernel draws inline whatever backend the caller's shell selects (MPLBACKEND=Agg on a
# headless server would otherwise leave every chapter without its figures, silently).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
# What papermill leaves in an executed notebook's metadata and is kept: its own record embeds the
# whole input notebook (and so every earlier execution) and the build machine's paths.
# Types a parameter whose default is None may declare, as `depth = None  # int`.


class ChapterError(RuntimeError):
    """A chapter failed to execute; the executed notebook shows where."""

    def __init__(self, chapter: str, notebook: Path, cause: BaseException):
        super().__init__(
            f"chapter {chapter} failed: {type(cause).__name__}: {cause}\n"
            f"the executed notebook, with the error, is {notebook}"
        )
        self.chapter = chapter
        self.notebook = notebook


class FigureError(ChapterError):
    """An executed chapter displays fewer figures than its cells declare."""

    def __init__(self, chapter: str, notebook: Path, cells: Sequence[int]):
        where = (
            f"no image from cell(s) {', '.join(map(str, cells))}, tagged {FIGURE_TAG!r}"
            if cells
            else "no image at all, where its stored outputs had some"
        )
        RuntimeError.__init__(
            self,
            f"chapter {chapter} executed without its figures: {where}; "
            f"is the kernel's matplotlib backend inline?\n"
            f"the executed notebook is {notebook}",
        )
        self.chapter = chapter
        self.notebook = notebook
        self.cells = list(cells)


# ---- the book's layout -----------------------------------------------------------------------


def find_root(start: Path | str | None = None) -> Path:
    """The book's root: the nearest folder holding ``_toc.yml`` and ``_config.yml`` at or above
    ``start`` (the working directory), else the repository the package was installed from."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents, _PACKAGE.parent):
        if all((folder / name).is_file() for name in BOOK_FILES):
            return folder
    raise ConfigError(
        f"no book found: neither {here} nor its parents hold {' and '.join(BOOK_FILES)}; "
        "run glorot from the repository"
    )


def _toc_files(entry: dict) -> Iterator[str]:
    """Every ``file`` of a toc entry and of its parts, chapters and sections, in reading order."""
    if "file" in entry:
        yield entry["file"]
    for key in ("parts", "chapters", "sections"):
        for child in entry.get(key) or ():
            yield from _toc_files(child)


def toc_files(root: Path) -> list[str]:
    """The files of ``_toc.yml`` in reading order, as written there (no suffix), root first."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text())
    return [toc["root"], *_toc_files(toc)]


def chapters(root: Path) -> dict[str, Path]:
    """The executable chapters: name -> notebook, for the toc entries that exist as notebooks."""
    found = {}
    for entry in toc_files(root):
        path = Path(root) / f"{entry}.ipynb"
        if path.is_file():
            found[path.stem] = path
    return found


def missing_files(root: Path) -> list[str]:
    """Toc entries with neither a notebook nor a Markdown page yet."""
    return [
        entry
        for entry in toc_files(root)
        if not any((Path(root) / f"{entry}{suffix}").is_file() for suffix in (".ipynb", ".md"))
    ]


def chapter_path(root: Path, chapter: str) -> Path:
    """The notebook of ``chapter`` (a name such as ``02_sigmoid``); a clear error if unknown."""
    known = chapters(root)
    name = Path(chapter).stem
    if name not in known:
        choices = ", ".join(known) or "none (no chapter notebook exists yet)"
        raise ConfigError(f"unknown chapter {chapter!r}; choose one of {choices}")
    return known[name]


# ---- execution ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _kernel_env(profile: str) -> Iterator[None]:
    """Run the kernel with ``GLOROT_PROFILE`` set, so every chapter's ``setup`` sees ``profile``,
    and matplotlib's inline backend, whatever ``MPLBACKEND`` the caller has."""
    new = {"GLOROT_PROFILE": profile, "MPLBACKEND": INLINE_BACKEND}
    old = {name: os.environ.get(name) for name in new}
    os.environ.update(new)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def execute(
    notebook: Path,
    out: Path,
    *,
    params: dict,
    profile: Profile,
    progress: bool = True,
) -> None:
    """Execute ``notebook`` into ``out`` with papermill, in the notebook's folder, each cell
    allowed the profile's timeout, then tidy it (:func:`tidy`) and check that it shows its
    figures. Raises :class:`ChapterError` naming the chapter on failure, :class:`FigureError`
    when figures are missing."""
    import papermill

    out.parent.mkdir(parents=True, exist_ok=True)
    # A parameters cell injected by an earlier execution (say at smoke scale) must not survive an
    # execution that injects none: the default one, whose outputs are committed.
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    declared = nbformat.from_dict(nb)  # read before ``out``, which may be the same file
    try:
        with _kernel_env(profile.name), lineage.recording() as reads_file:
            executed = papermill.execute_notebook(
                nb,
                str(out),
                parameters=params or None,
                kernel_name=KERNEL,
                cwd=str(notebook.parent),
                execution_timeout=profile.timeout,
                progress_bar=progress,
            )
            read = lineage.reads(reads_file)
    except Exception as exc:
        _tidy_file(out, _roots(notebook))
        raise ChapterError(notebook.stem, out, exc) from exc
    executed = nbformat.from_dict(executed)
    tidy(executed, _roots(notebook))
    # The runs the page was made from: it is out of date once the store holds others.
    lineage.stamp(executed.metadata, read)
    nbformat.write(executed, out)
    missing = missing_figures(declared, executed)
    if missing is not None:
        raise FigureError(notebook.stem, out, missing)


def _roots(notebook: Path) -> list[Path]:
    """The folders whose paths an executed ``notebook`` should not name: its book's root (the
    repository) and the one the package was installed from."""
    return list(dict.fromkeys([find_root(Path(notebook).parent), _PACKAGE.parent]))


def _tidy_file(path: Path, roots: Sequence[Path]) -> None:
    """:func:`tidy` the notebook at ``path`` if papermill got as far as writing it."""
    if path.is_file():
        nb = nbformat.read(path, as_version=4)
        tidy(nb, roots)
        nbformat.write(nb, path)


def _copy_book(root: Path, target: Path) -> None:
    """Copy the book's configuration and pages into ``target``; notebooks only where missing,
    so that the ones already executed there keep their outputs and stamps."""
    target.mkdir(parents=True, exist_ok=True)
    for name in BOOK_FILES:
        shutil.copy2(root / name, target / name)
    if (root / STATIC_DIR).is_dir():
        shutil.copytree(root / STATIC_DIR, target / STATIC_DIR, dirs_exist_ok=True)
    skip = shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "_build", "__pycache__")
    shutil.copytree(root / BOOK_DIR, target / BOOK_DIR, ignore=skip, dirs_exist_ok=True)
    for notebook in (root / BOOK_DIR).rglob("*.ipynb"):
        copy = target / notebook.relative_to(root)
        if ".ipynb_checkpoints" not in notebook.parts and not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(notebook, copy)


def book_dir(root: Path, profile: Profile) -> Path:
    """Where the book of ``profile`` is executed and built: the published book in the repository
    (its notebooks are the committed ones), any other scale in ``_build/<profile>/``."""
    return Path(root) if profile.name == PUBLISHED else Path(root) / "_build" / profile.name


def execute_book(
    root: Path,
    profile: Profile,
    *,
    only: Sequence[str] = (),
    force: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Execute the chapters (all, or ``only`` these) at ``profile``; return the executed book's
    folder. Chapters that are up to date are skipped unless ``force``."""
    root = Path(root)
    known = chapters(root)
    selected = [chapter_path(root, name).stem for name in only] or list(known)
    target = book_dir(root, profile)
    if target != root:
        _copy_book(root, target)
    params = {} if profile.name == PUBLISHED else {"profile": profile.name}
    for i, name in enumerate(selected, 1):
        source = known[name]
        out = target / source.relative_to(root)
        want = stamp(source, params, profile.name)
        head = f"[{i}/{len(selected)}] {name}"
        if not force and stored_stamp(out) == want:
            changed = lineage.notebook_changed(out)
            if not changed:
                log(f"{head}: up to date")
                continue
            log(f"{head}: {len(changed)} of the stored runs it shows changed or are missing")
        log(f"{head}: executing at {profile.name} scale")
        start = time.perf_counter()
        execute(source, out, params=params, profile=profile, progress=progress)
        write_stamp(out, want, profile.name)
        log(f"{head}: done in {time.perf_counter() - start:.1f} s")
    return target


def build_html(book: Path, *, log: Callable[[str], None] = print) -> Path:
    """Build the HTML of the executed book in ``book`` with Jupyter Book, warnings as errors;
    return the site's ``index.html``. Toc entries that do not exist yet are left out, by name."""
    book = Path(book)
    command = [
        sys.executable,
        "-c",
        "from jupyter_book.cli.main import main; main()",
        "build",
        str(book),
        "--builder",
        "html",
        "--warningiserror",
        "--keep-going",
    ]
    missing = missing_files(book)
    if missing:
        log(f"not yet written, left out of the book: {', '.join(missing)}")
        command += ["--toc", str(_partial_toc(book, missing))]
    result = subprocess.run(command, cwd=book, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"jupyter-book build failed (exit {result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return book / "_build" / "html" / "index.html"


def _partial_toc(book: Path, missing: Sequence[str]) -> Path:
    """A copy of ``_toc.yml`` without the ``missing`` entries, under ``_build``."""

    def keep(entry: dict) -> dict | None:
        if entry.get("file") in missing:
            return None
        entry = dict(entry)
        for key in ("parts", "chapters", "sections"):
            kept = [e for e in map(keep, entry.pop(key, None) or ()) if e is not None]
            if kept:  # the toc format rejects empty lists
                entry[key] = kept
        return entry

    toc = keep(yaml.safe_load((book / "_toc.yml").read_text()))
    path = book / "_build" / "_toc.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(toc, sort_keys=False))
    return path


# ---- one chapter with new parameters -----------------------------------------------------------


def run_name(chapter: str, values: dict) -> str:
    """A file name for a re-run, e.g. ``02_sigmoid-depth5-updates100000.ipynb``."""
    parts = [chapter] + [f"{k}{v}" for k, v in values.items()]
    return re.sub(r"[^A-Za-z0-9_.+-]", "", "-".join(parts)) + ".ipynb"


def run_chapter(
    root: Path,
    chapter: str,
    given: Sequence[tuple[str, str]] = (),
    *,
    out: Path | None = None,
    profile: str | None = None,
    progress: bool = True,
) -> Path:
    """Execute one chapter with new parameters, checked before anything runs; return the
    executed notebook (``out``, default ``_build/runs/<chapter>-<parameters>.ipynb``)."""
    root = Path(root)
    notebook = chapter_path(root, chapter)
    values = check_parameters(notebook, given)
    if profile is not None:
        resolve_profile(profile)
        values["profile"] = profile
    declared_profile = _literal(parameters(notebook).get("profile", {}).get("default", "None"))
    scale = resolve_profile(
        values.get("profile") or os.environ.get("GLOROT_PROFILE") or declared_profile
    )
    check_run_values(values, scale, notebook.stem)
    out = Path(out) if out else root / "_build" / "runs" / run_name(notebook.stem, values)
    execute(notebook, out, params=values, profile=scale, progress=progress)
    return out
