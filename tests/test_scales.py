"""Reading runs at earlier points of their training."""

from __future__ import annotations

import math

import numpy as np
from test_train import tiny

from glorot import scales
from glorot.run import Run


def fake(errors, updates=(0, 20, 40, 60), diverged_at=None, seed=0):
    cfg = tiny(updates=updates[-1], seed=seed)
    evals = {"updates": np.asarray(updates), "test_error": np.asarray(errors, dtype=float)}
    return Run(cfg, probes={}, evals=evals, diverged_at=diverged_at)


def test_error_at_reads_the_measurement_at_that_point():
    run = fake([0.9, 0.5, 0.4, 0.3])
    assert scales.error_at(run, 40) == 0.4
    assert math.isnan(scales.error_at(run, 30))  # not measured there
    assert math.isnan(scales.error_at(fake([0.9, 0.5, 0.4, 0.3], diverged_at=35), 40))


def test_the_table_has_one_column_per_common_point_and_the_paper():
    runs = {
        "Tanh": [fake([0.9, 0.5, 0.4, 0.3]), fake([0.9, 0.7, 0.6, 0.5], seed=1)],
        "Tanh N": [fake([0.9, 0.4, 0.3, 0.2], updates=(0, 20, 50, 60))],
    }
    text = scales.by_length_markdown(runs, (20, 40), paper={"Tanh": 27.15}, names={20: "short"})
    head, rule, *rows = text.splitlines()
    assert head == "| model | 20 updates (short) | 60 updates | paper |"  # 40: not in every run
    assert rows[0] == "| Tanh | 60.00 ± 14.14 | 40.00 ± 14.14 | 27.15 |"
    assert rows[1] == "| Tanh N | 40.00 | 20.00 | — |"
