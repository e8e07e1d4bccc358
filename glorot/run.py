"""The record of one run: its config, what was measured on the probe schedule, and its provenance."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from glorot.config import RunConfig

TIMING_KEYS = ("wall_s", "train_s", "measure_s", "updates_per_s")  # differ between equal runs
# Probe statistics summarised per layer by Run.to_summary (summary name -> probe key).
SUMMARY_KEYS = {
    "activation_mean": "act_mean",
    "activation_std": "act_std",
    "backprop_std": "dC_ds_std",
    "weight_grad_std": "dC_dW_std",
    "jacobian_mean_sv": "jac_mean_sv",
}
EVAL_COLUMNS = ("updates", "test_error", "valid_error", "train_loss")


@dataclass(frozen=True, eq=False)
class Run:
    """The record of one run.

    ``probes``: ``updates`` (P,) and every probe statistic stacked over probe points (P, L, ...).
    ``evals``: ``updates`` (P,), ``test_error``, ``valid_error`` (fractions misclassified) and
    ``train_loss`` (mean training cost over the updates since the previous point; NaN at update 0,
    before any training); ``test_pred`` (uint8, the class the network predicts for each test
    example at the last point) and ``test_true`` (uint8, the labels), for paired comparisons of
    two networks on the same test set.

    A run whose training cost became NaN or infinite stopped there: ``diverged_at`` is the update
    (counting from 1) whose cost was not finite. Its records hold the points measured before that,
    and its ``final`` errors are NaN: a network whose outputs are not numbers has no error rate, and
    NaN keeps it out of every average and every minimum by accident.

    A statistic that could not be computed at a point (a Jacobian spectrum whose eigensolver did
    not converge) is NaN there, and ``provenance["not_measured"]`` lists ``{"updates", "why"}``.
    """

    config: RunConfig
    probes: dict[str, np.ndarray]
    evals: dict[str, np.ndarray]
    diverged_at: int | None = None
    provenance: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.config.key

    @property
    def final(self) -> dict:
        """Test and validation error at the end of training (NaN when the run diverged)."""
        if self.diverged_at is not None:
            return {"test_error": math.nan, "validation_error": math.nan, "diverged": True}
        return {
            "test_error": float(self.evals["test_error"][-1]),
            "validation_error": float(self.evals["valid_error"][-1]),
            "diverged": False,
        }

    def to_summary(self) -> dict:
        """A JSON-ready digest: config, final errors and per-layer statistics at every probe point.

        Values that are not finite (errors of a diverged run, Jacobians not measured) become None,
        so the digest is strict JSON.
        """
        points = []
        for i, updates in enumerate(self.probes["updates"]):
            n_layers = len(self.probes["act_mean"][i])
            layers = [
                {
                    name: _json_float(self.probes[key][i][layer])
                    for name, key in SUMMARY_KEYS.items()
                }
                for layer in range(n_layers)
            ]
            points.append({"updates": int(updates), "layers": layers})
        final = {k: v if isinstance(v, bool) else _json_float(v) for k, v in self.final.items()}
        return {
            "key": self.key,
            "config": self.config.to_dict(),
            "final": final,
            "diverged_at": self.diverged_at,
            "probes": points,
            "provenance": self.provenance,
        }


def _json_float(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def stack_probes(points: list[dict[str, np.ndarray]], schedule: list[int]) -> dict:
    """Probe statistics of the points measured so far, stacked: (P, ...) per key."""
    probes = {"updates": np.asarray(schedule[: len(points)], dtype=np.int64)}
    for key in points[0] if points else ():
        probes[key] = np.stack([p[key] for p in points])
    return probes


def stack_evals(
    rows: list[tuple[int, float, float, float]],
    test_pred: np.ndarray | None,
    test_true: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """The ``evals`` of a record from its rows (updates, test error, valid error, train loss) and
    the last test predictions."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(EVAL_COLUMNS)
    evals = {
        name: np.asarray(col, dtype=np.int64 if name == "updates" else np.float64)
        for name, col in zip(EVAL_COLUMNS, columns, strict=True)
    }
    if test_pred is not None and test_true is not None:
        evals["test_pred"], evals["test_true"] = test_pred, test_true
    return evals
