"""The benchmark's loops run and are timed side by side (their figures are printed, never judged)."""

import math

from glorot import bench


def test_every_loop_of_the_comparison_runs_and_is_timed():
    speeds = bench.compare_loops(width=16, updates=5, repeats=1)
    assert set(speeds) == {"autograd", "bare", "products", "train", "measure_share"}
    for loop in ("autograd", "bare", "products", "train"):
        assert math.isfinite(speeds[loop]) and speeds[loop] > 0, loop
    assert 0 < speeds["measure_share"] < 1
