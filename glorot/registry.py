"""The names a run may take and how they are shown: one entry per activation, init and cost.

This module is the single source of those names; it imports nothing heavy, so that
:mod:`glorot.config` validates a run without loading torch. :mod:`glorot.models` adds the
functions of each entry (``f``, ``f'``, the weight draws, the cost's gradient). Adding an activation
or an init is one entry here plus its functions there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ActivationEntry:
    """A hidden-unit non-linearity as the book names and bounds it."""

    name: str
    label: str  # in Table 1's names: "Tanh", "ReLU"
    lo: float  # lower asymptote of z
    hi: float  # upper asymptote of z (math.inf: unbounded)
    # Gain of the orthogonal init: 1/f'(0) (√2 for ReLU, which passes half its units), so that each
    # layer is an isometry in the linear regime: σ_w² E[f'(s)²] = 1 near s = 0, the critical point
    # χ₁ = 1 of mean-field theory (Poole et al. 2016) for the odd functions.
    orthogonal_gain: float
    # Colour of each init's model in the figures that compare Table 1's models ("Tanh N": tanh's
    # "normalized"); a model without one is drawn in grey.
    colours: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class InitEntry:
    """An initialisation of the weights as the book names and draws it in figures."""

    name: str
    suffix: str  # appended to the activation's label in Table 1's names: " N" (Tanh N)
    title: str  # in legends: "standard", "He"
    reference: str = ""  # where the paper defines it: "eq. 1"
    style: dict = field(default_factory=dict, compare=False, hash=False)  # matplotlib line style

    @property
    def legend(self) -> str:
        """'standard (eq. 1)', 'He'."""
        return f"{self.title} ({self.reference})" if self.reference else self.title


ACTIVATIONS: dict[str, ActivationEntry] = {
    a.name: a
    for a in (
        ActivationEntry("sigmoid", "Sigmoid", 0.0, 1.0, 4.0, {"standard": "#029e73"}),
        ActivationEntry(
            "tanh", "Tanh", -1.0, 1.0, 1.0, {"standard": "#d55e00", "normalized": "#de8f05"}
        ),
        ActivationEntry(
            "softsign", "Softsign", -1.0, 1.0, 1.0, {"standard": "#0173b2", "normalized": "#56b4e9"}
        ),
        # Unbounded above: the trainer never assumes a range, and no unit counts as saturated.
        ActivationEntry("relu", "ReLU", 0.0, math.inf, math.sqrt(2)),
    )
}

INITS: dict[str, InitEntry] = {
    i.name: i
    for i in (
        InitEntry(
            "standard", "", "standard", "eq. 1", dict(color="#d55e00", marker="o", linestyle="--")
        ),
        InitEntry(
            "normalized",
            " N",
            "normalized",
            "eq. 16",
            dict(color="#0173b2", marker="s", linestyle="-"),
        ),
        InitEntry("he", " He", "He", "", dict(color="#029e73", marker="^", linestyle="-")),
        InitEntry(
            "orthogonal",
            " orth.",
            "orthogonal",
            "",
            dict(color="#cc78bc", marker="D", linestyle="-."),
        ),
        InitEntry("lsuv", " LSUV", "LSUV", "", dict(color="#ca9161", marker="v", linestyle=":")),
    )
}

COSTS: dict[str, str] = {
    "nll": "-log P(y|x) (§2.3)",
    "quadratic": "quadratic (Fig. 5)",
}


def model_label(activation: str, init: str) -> str:
    """Table 1's name of a model ('Tanh N'), extended to the later inits ('ReLU He'); a name that
    is not registered reads as itself."""
    act = ACTIVATIONS.get(activation)
    ini = INITS.get(init)
    return (act.label if act else activation.capitalize()) + (ini.suffix if ini else init)


def model_colours() -> dict[str, str]:
    """{Table 1 name: colour} of every model that has a colour ('Tanh N': tanh's 'normalized')."""
    return {model_label(a.name, i): c for a in ACTIVATIONS.values() for i, c in a.colours.items()}
