"""A chapter's parameters cell: read it, coerce command-line values to its types, check them.

``glorot run CHAPTER -p NAME VALUE`` and ``glorot book --profile`` go through here before any
kernel starts: an unknown name, a value of the wrong type or a run parameter out of its range is
refused with the valid choices.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

from glorot.config import PROFILES, ConfigError, Profile, RunConfig, profile_from_env

# The scale of the published book: its notebooks, in book/, carry the outputs of this profile's
# runs, whose records are committed in results/<profile>/ (glorot.published).
PUBLISHED = "long"
DECLARED_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def parameters(notebook: Path) -> dict[str, dict]:
    """The parameters cell of ``notebook`` as papermill reads it: name -> {default, help, ...}."""
    import papermill

    return papermill.inspect_notebook(str(notebook))


def _literal(text: str):
    """A Python literal if ``text`` is one (``5``, ``0.1``, ``None``, ``(1, 2)``), else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _declared_type(spec: dict) -> type | None:
    """The type a parameter accepts: its default's, else the one its annotation or comment names."""
    default = _literal(spec["default"])
    if default is not None:
        return type(default)
    # The comment may go on after the type: ``updates = None  # int; None: the profile's``.
    comment = re.match(r"\s*(\w+)", spec.get("help") or "")
    for hint in (spec.get("inferred_type_name"), comment and comment.group(1)):
        if hint in DECLARED_TYPES:
            return DECLARED_TYPES[hint]
    return None


def coerce(name: str, text: str, spec: dict):
    """The value of parameter ``name`` given as ``text`` on the command line, checked against the
    type of its default; a :class:`ConfigError` names the expected type otherwise."""
    value = _literal(text)
    expected = _declared_type(spec)
    if name == "profile" and value not in PROFILES:
        raise ConfigError(f"unknown profile {value!r}; choose one of {', '.join(PROFILES)}")
    if expected is None:
        return value
    if expected is str:
        # A string parameter takes the text as given, even when it reads like a number.
        return value if isinstance(value, str) else text
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected in (tuple, list) and isinstance(value, (tuple, list)):
        return expected(value)
    if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    raise ConfigError(
        f"parameter {name!r} takes a value of type {expected.__name__} "
        f"(default {spec['default']}), got {text!r}"
    )


def check_parameters(notebook: Path, given: Sequence[tuple[str, str]]) -> dict:
    """Parse and check ``(name, text)`` pairs against the notebook's parameters cell."""
    declared = parameters(notebook)
    values = {}
    for name, text in given:
        if name not in declared:
            choices = ", ".join(declared) or "none (the notebook has no parameters cell)"
            raise ConfigError(
                f"unknown parameter {name!r} for chapter {notebook.stem}; choose one of {choices}"
            )
        values[name] = coerce(name, text, declared[name])
    return values


def check_run_values(values: dict, profile: Profile, chapter: str) -> None:
    """Check the values of parameters that are fields of a run (``depth``, ``width``, ``lr``,
    ``updates``, ...) with the run configuration's own validation at ``profile``, so that a value
    out of range is refused before a kernel starts, with the range it must lie in."""
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    run = {k: v for k, v in values.items() if k in fields and v is not None}
    try:
        profile.config(**run)
    except (ConfigError, TypeError) as exc:
        raise ConfigError(f"chapter {chapter}: parameter {exc}") from None


def resolve_profile(name: str | None) -> Profile:
    """The profile called ``name``; without a name, ``$GLOROT_PROFILE`` or the published one
    (:data:`PUBLISHED`)."""
    if name is None:
        return profile_from_env(PUBLISHED)
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]
