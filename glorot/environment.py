"""The environment: every GLOROT_* variable is parsed here, with one message per mistake.

:mod:`glorot.config` re-exports these and adds :func:`~glorot.config.check_environment`.
"""

from __future__ import annotations

import os
from pathlib import Path

from glorot.checks import ConfigError

ENVIRONMENT = {
    "GLOROT_PROFILE": "the profile when none is given: smoke, default, long or paper",
    "GLOROT_CACHE": "the folder of stored runs",
    "GLOROT_DATA": "the folder of the finite data sets",
    "GLOROT_THREADS": "torch threads per run, an integer >= 1",
    "GLOROT_WORKERS": "processes for independent runs, an integer >= 1",
    "GLOROT_QUIET": "1 to silence progress bars",
    "GLOROT_RECORDS": "off to ignore the committed records of results/ (a recomputation)",
}
RECORDS_CHOICES = ("on", "off")


def env_int(name: str, default: int, minimum: int = 1, maximum: int = 4096) -> int:
    """The integer in environment variable ``name`` (``default`` when unset or empty)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        raise ConfigError(
            f"environment variable {name}={raw!r} must be an integer in [{minimum}, {maximum}]; "
            f"unset it or fix it ({ENVIRONMENT.get(name, name)})"
        )
    return value


def env_choice(name: str, choices: tuple[str, ...], what: str = "value") -> str | None:
    """The value of ``name`` when it is one of ``choices``, None when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if raw and raw not in choices:
        raise ConfigError(
            f"unknown {what} {raw!r} in environment variable {name}; choose one of "
            f"{', '.join(choices)}, or unset it"
        )
    return raw or None


def env_path(name: str) -> Path | None:
    """The folder named by ``name`` (``~`` expanded), None when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    return Path(raw).expanduser()


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip() not in ("", "0")
