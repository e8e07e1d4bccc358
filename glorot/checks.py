"""The checks of a parameter's value, each with one message that names it and says what to do.

They raise :class:`ConfigError` (a ValueError); :mod:`glorot.config` re-exports them all.
"""

from __future__ import annotations

import math
import numbers
import re

# The largest float32: a learning rate above it is infinite once it meets the float32 weights.
LR_MAX = 3.4028234663852886e38
INT_MAX = 2**63 - 1  # torch's int64; also bounds the seed of torch.Generator.manual_seed
DEVICE_PATTERN = re.compile(r"cpu|cuda(:[0-9]{1,4})?")


class ConfigError(ValueError):
    """A parameter is out of its domain; the message names it and says what to do."""


def check_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` when it is one of ``choices``, else a ConfigError that lists them."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
    return value


def check_int(name: str, value, minimum: int, maximum: int = INT_MAX) -> int:
    """``value`` as an int when it is an integer in [minimum, maximum], else ConfigError."""
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        too_big = isinstance(value, int) and value > maximum
        bound = f"in [{minimum}, {maximum:,}]" if too_big or maximum != INT_MAX else f">= {minimum}"
        shown = f"{value!r}" if len(repr(value)) < 40 else f"{repr(value)[:37]}..."
        raise ConfigError(f"{name} must be an integer {bound}, got {shown}")
    return value


def check_integral(name: str, value, minimum: int, maximum: int = INT_MAX) -> int:
    """:func:`check_int` that also takes numpy's integers, returned as an int."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    return check_int(name, value, minimum, maximum)


def check_lr(value) -> float:
    """A learning rate: a finite number in (0, LR_MAX]."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 < value <= LR_MAX:
        raise ConfigError(
            f"learning rate must be a finite number in (0, {LR_MAX:.3g}] (the largest float32), "
            f"got {value!r}; try 0.01"
        )
    return float(value)


def check_device(value) -> str:
    if not isinstance(value, str) or not DEVICE_PATTERN.fullmatch(value):
        raise ConfigError(f"unknown device {value!r}; use cpu, cuda or cuda:N (N a number)")
    return value
