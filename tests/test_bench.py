"""The benchmark's loops run and are timed side by side (their figures are printed, never judged)."""

import math

import pytest

from glorot import bench


def test_every_loop_of_the_comparison_runs_and_is_timed():
    # 60 updates in blocks of 10: the blocks that hold the measurements at 31 and 60 are dropped
    speeds = bench.compare_loops(width=16, updates=60, repeats=1, block=10)
    assert set(speeds) == {"autograd", "bare", "products", "train", "measure_share"}
    for loop in ("autograd", "bare", "products", "train"):
        assert math.isfinite(speeds[loop]) and speeds[loop] > 0, loop
    assert 0 < speeds["measure_share"] < 1


def test_blocks_that_hold_a_measurement_are_not_timed():
    source = bench.Pregenerated(50)
    cfg = bench.loop_config(16, 60)
    mixed = bench._Interleaved(source, cfg, {}, bench._pool(cfg, source), block=10)
    assert [k for k in range(0, 60, 10) if mixed.clean(k)] == [0, 10, 20, 40]


def test_a_run_with_no_block_free_of_measurements_is_refused():
    with pytest.raises(ValueError, match="free of measurements"):
        bench.compare_loops(width=16, updates=5, repeats=1, block=5)
