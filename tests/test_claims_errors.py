"""Claims C13-C16: the paper's own Table 1 passes them, data that breaks them fails, and a run far
shorter than the paper's is "not reached" rather than a failure. Also our Table 1 from run records,
its rendering, and the error-curve figures."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

from glorot.claims import Verdict
from glorot.claims import errors as E
from glorot.config import PROFILES, RunConfig
from glorot.experiments import TABLE1
from glorot.figures import errors as F
from glorot.run import Run

matplotlib.use("Agg")

PAPER = E.PAPER_TABLE1["shapeset"]
LONG = E.PAPER_UPDATES
SHORT = 40_000


def shifted(errors, **changes):
    """A copy of ``errors`` with some rows replaced (keyword ``Tanh_N`` is row ``Tanh N``)."""
    return {**errors, **{k.replace("_", " "): v for k, v in changes.items()}}


def test_paper_table1_is_transcribed_from_the_reference():
    # Reference §4, row by row; the chance level is 1 - 1/6 under the original frequencies.
    assert E.ROWS == ("Softsign", "Softsign N", "Tanh", "Tanh N", "Sigmoid")
    assert [E.PAPER_TABLE1["cifar10"][r] for r in E.ROWS] == [55.78, 53.8, 55.9, 52.92, 57.28]
    assert E.SHAPESET_CHANCE == pytest.approx(83.33, abs=0.01)


# ---- C13 -----------------------------------------------------------------------------------------


def test_c13_passes_on_the_papers_numbers():
    assert E.check_c13(PAPER, LONG).verdict is Verdict.PASS


@pytest.mark.parametrize(
    "change",
    [
        {"Tanh_N": 19.0},  # Tanh N worse than Softsign N by 3 points
        {"Softsign": 20.0},  # the two softsigns 4 points apart
        {"Tanh": 16.1},  # tanh no worse than softsign
        {"Sigmoid": 30.0},  # sigmoid learns
    ],
)
def test_c13_fails_when_any_part_of_the_ordering_breaks(change):
    r = E.check_c13(shifted(PAPER, **change), LONG)
    assert r.verdict is Verdict.FAIL and "broken" in r.measured


def test_c13_in_a_short_run_passes_when_it_holds_and_is_not_reached_otherwise():
    assert E.check_c13(PAPER, SHORT).verdict is Verdict.PASS
    assert E.check_c13(PAPER, SHORT, n_test=10_000).verdict is Verdict.PASS


def test_c13_needs_a_significant_lead_of_the_softsigns_over_tanh():
    close = shifted(PAPER, Tanh=17.5)  # every condition holds in the means
    assert E.check_c13(close, LONG).verdict is Verdict.PASS
    assert E.check_c13(close, SHORT, n_test=2_000).verdict is Verdict.NOT_REACHED
    r = E.check_c13(close, LONG, n_test=2_000)
    assert r.verdict is Verdict.FAIL and "p = " in r.measured
    assert E.check_c13(shifted(PAPER, Sigmoid=30.0), SHORT).verdict is Verdict.NOT_REACHED


def test_orderings_of_networks_still_at_chance_are_not_reached_in_a_short_run():
    # Every model within 3 points of a constant guess (83.3%): C15's ordering holds, meaninglessly.
    at_chance = dict(zip(E.ROWS, (82.6, 82.4, 82.6, 80.6, 82.6), strict=True))
    for check in (E.check_c13, E.check_c15):
        r = check(at_chance, SHORT)
        assert r.verdict is Verdict.NOT_REACHED and "below chance" in r.measured
    assert E.check_c15(at_chance, LONG).verdict is Verdict.PASS
    assert E.check_c13(at_chance, LONG).verdict is Verdict.FAIL
    # Learned means the best model at least LEARNED points below chance.
    barely = {**at_chance, "Tanh N": E.SHAPESET_CHANCE - E.LEARNED}
    assert E.check_c15(barely, SHORT).verdict is Verdict.PASS


def test_a_missing_row_is_named():
    with pytest.raises(ValueError, match="Sigmoid missing"):
        E.check_c13({r: 1.0 for r in E.ROWS[:-1]}, LONG)


# ---- C14 -----------------------------------------------------------------------------------------


def test_c14_passes_within_a_few_points_and_fails_beyond():
    assert E.check_c14(PAPER, LONG).verdict is Verdict.PASS
    near = {r: e + (E.FEW_POINTS - 0.5) * (-1) ** i for i, (r, e) in enumerate(PAPER.items())}
    assert E.check_c14(near, LONG).verdict is Verdict.PASS
    r = E.check_c14(shifted(PAPER, Tanh=PAPER["Tanh"] + E.FEW_POINTS + 1), LONG)
    assert r.verdict is Verdict.FAIL and "largest: Tanh" in r.measured


def test_c14_is_not_reached_in_a_run_far_shorter_than_the_papers():
    assert E.check_c14(PAPER, SHORT).verdict is Verdict.NOT_REACHED
    assert E.check_c14(PAPER, int(E.REACHED_FRACTION * LONG)).verdict is Verdict.PASS


def test_c14_fails_on_a_diverged_model():
    assert E.check_c14(shifted(PAPER, Tanh=math.nan), LONG).verdict is Verdict.FAIL


# ---- C15 -----------------------------------------------------------------------------------------


def test_c15_passes_on_the_papers_numbers_and_fails_when_softsign_is_the_sensitive_one():
    r = E.check_c15(PAPER, LONG)
    assert r.verdict is Verdict.PASS and "0.21" in r.measured and "11.55" in r.measured
    swapped = shifted(PAPER, Softsign=27.15, Tanh=16.27)
    assert E.check_c15(swapped, LONG).verdict is Verdict.FAIL
    assert E.check_c15(swapped, SHORT).verdict is Verdict.NOT_REACHED


# ---- C16 -----------------------------------------------------------------------------------------

FINITE_PAPER = {d: E.PAPER_TABLE1[d] for d in E.FINITE}
FINITE_LONG = 500_000


def test_c16_passes_on_the_papers_mnist_and_cifar_columns():
    for name, errors in FINITE_PAPER.items():
        assert all(E.finite_ordering(errors).values()), name
    assert E.check_c16(FINITE_PAPER, FINITE_LONG).verdict is Verdict.PASS


def test_c16_fails_when_sigmoid_is_not_the_worst_on_one_set():
    broken = {**FINITE_PAPER, "mnist": shifted(FINITE_PAPER["mnist"], Sigmoid=1.5)}
    r = E.check_c16(broken, FINITE_LONG)
    assert r.verdict is Verdict.FAIL and "Sigmoid worst" in r.measured
    assert E.check_c16(broken, 200).verdict is Verdict.NOT_REACHED


def test_c16_in_a_short_run_needs_networks_that_have_learned():
    at_chance = {"cifar10": {r: e + 30 for r, e in FINITE_PAPER["cifar10"].items()}}
    assert all(E.finite_ordering(at_chance["cifar10"]).values())
    r = E.check_c16(at_chance, 200)
    assert r.verdict is Verdict.NOT_REACHED and "below chance" in r.measured
    assert E.check_c16(FINITE_PAPER, 200).verdict is Verdict.PASS


def test_c16_tanh_n_must_be_near_the_best_relative_to_the_spread():
    cifar = shifted(FINITE_PAPER["cifar10"], Tanh_N=55.0)  # 1.2 points behind Softsign N
    assert not E.finite_ordering(cifar)["Tanh N best (within 0.25 × spread)"]


def test_c16_is_not_reached_without_mnist_and_cifar_and_says_why():
    missing = {"mnist": "MNIST not found", "cifar10": "CIFAR-10 not found"}
    r = E.check_c16({}, 0, missing=missing)
    assert r.verdict is Verdict.NOT_REACHED
    assert "neither MNIST nor CIFAR-10" in r.measured and "CIFAR-10 absent" in r.measured


def test_c16_never_counts_a_stand_in():
    with pytest.raises(ValueError, match="stand_in"):
        E.check_c16({"fashion-mnist": FINITE_PAPER["mnist"]}, FINITE_LONG)
    bad = shifted(FINITE_PAPER["mnist"], Sigmoid=0.5)
    r = E.check_c16({}, 0, stand_in={"fashion-mnist": bad})
    assert r.verdict is Verdict.NOT_REACHED and "not counted: broken" in r.measured
    r = E.check_c16(FINITE_PAPER, FINITE_LONG, stand_in={"fashion-mnist": bad})
    assert r.verdict is Verdict.PASS


# ---- our Table 1 from run records ----------------------------------------------------------------


def fake_run(activation, init, seed, curve, n_test=1_000, diverged=False):
    cfg = RunConfig(
        activation=activation, init=init, seed=seed, width=8, updates=300, n_test=n_test
    )
    updates = np.arange(len(curve), dtype=np.int64) * 100
    evals = {
        "updates": updates,
        "test_error": np.asarray(curve, dtype=float),
        "valid_error": np.asarray(curve, dtype=float),
        "train_loss": np.zeros(len(curve)),
    }
    return Run(config=cfg, probes={}, evals=evals, diverged_at=150 if diverged else None)


def fake_table(final, seeds=(0, 1)):
    """Runs whose final test errors are ``final[label] + 0.01 * seed`` (fractions)."""
    return {
        (a, i): [fake_run(a, i, s, [0.8, 0.5, final[E.row_label(a, i)] + 0.01 * s]) for s in seeds]
        for a, i in TABLE1
    }


def test_column_averages_seeds_and_tests_against_the_best():
    final = {r: e / 100 for r, e in PAPER.items()}
    c = E.column("shapeset", fake_table(final), "smoke")
    assert c.errors["Tanh"] == pytest.approx(27.65)  # (27.15 + 28.15) / 2
    assert (c.lo["Tanh"], c.hi["Tanh"]) == pytest.approx((27.15, 28.15))
    assert c.seeds == (0, 1) and c.n_test == 1_000 and c.updates == 300
    assert c.significant == {
        "Softsign": False,
        "Softsign N": False,
        "Tanh": True,
        "Tanh N": False,
        "Sigmoid": True,
    }
    assert "2 seeds" in c.scale and "1,000 test examples" in c.scale


def test_column_leaves_a_diverged_seed_out_of_the_mean():
    runs = fake_table({r: 0.2 for r in E.ROWS}, seeds=(0,))
    runs[("tanh", "standard")].append(fake_run("tanh", "standard", 1, [0.8, 0.5], diverged=True))
    c = E.column("shapeset", runs, "smoke")
    assert c.errors["Tanh"] == pytest.approx(20.0)


def test_table1_markdown_sets_ours_beside_the_papers_and_says_what_is_absent():
    c = E.column("shapeset", fake_table({r: e / 100 for r, e in PAPER.items()}), "smoke")
    md = E.table1_markdown([c], missing={"mnist": "MNIST not found"}).data
    tanh = next(line for line in md.splitlines() if line.startswith("| Tanh |"))
    assert "27.15" in tanh and "27.65 (27.1–28.1) †" in tanh and "— (files absent)" in tanh
    assert "— (not public)" in tanh and "— (not run)" in tanh  # Small-ImageNet; CIFAR-10
    assert "smoke: 300 updates" in md


def test_selection_markdown_marks_the_chosen_rate():
    md = E.selection_markdown({"Tanh": {0.01: 0.3, 0.1: math.nan}}, {"Tanh": 0.01}).data
    assert "**30.00**" in md and "diverged" in md


def test_evaluate_gathers_the_profiles_runs(monkeypatch):
    from glorot import experiments

    final = {r: e / 100 for r, e in PAPER.items()}
    monkeypatch.setattr(experiments, "table1_runs", lambda P: fake_table(final))
    mnist = {r: e / 100 for r, e in FINITE_PAPER["mnist"].items()}
    monkeypatch.setattr(experiments, "finite_runs", lambda P, name: fake_table(mnist, seeds=(0,)))
    monkeypatch.setattr(E, "missing_reason", lambda name: None if name == "mnist" else "absent")
    results = E.evaluate(PROFILES["smoke"])
    assert [r.id for r in results] == ["C13", "C14", "C15", "C16"]
    assert [r.verdict for r in results[:3]] == [Verdict.PASS, Verdict.NOT_REACHED, Verdict.PASS]
    assert results[3].verdict is Verdict.PASS  # the paper's MNIST column, from one seed
    assert "MNIST: Softsign 1.64" in results[3].measured
    assert "CIFAR-10 absent" in results[3].measured


# ---- figures ------------------------------------------------------------------------------------


def test_seed_band_is_the_mean_and_range_over_seeds_on_common_updates():
    runs = [fake_run("tanh", "standard", s, c) for s, c in enumerate([[0.8, 0.4, 0.2], [0.6, 0.2]])]
    updates, mean, lo, hi = F.seed_band(runs)
    assert updates.tolist() == [0, 100]
    assert mean == pytest.approx([70.0, 30.0]) and lo == pytest.approx([60.0, 20.0])
    assert hi == pytest.approx([80.0, 40.0])


def test_error_curves_draw_one_line_per_configuration_in_its_colour():
    final = {r: 0.2 for r in E.ROWS}
    runs = {E.row_label(a, i): rs for (a, i), rs in fake_table(final).items()}
    fig = F.error_curves(runs, chance=E.SHAPESET_CHANCE)
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == [*E.ROWS, "constant guess"]
    assert lines[2].get_color() == F.CONFIG_COLORS["Tanh"] and lines[2].get_linestyle() == "--"
    assert lines[3].get_linestyle() == "-"
    assert lines[0].get_ydata()[-1] == pytest.approx(20.5)
    assert len(fig.axes[0].collections) == 5  # a band per configuration: two seeds each


def test_table1_comparison_draws_paper_beside_ours():
    ours = {"shapeset": dict(PAPER), "fashion-mnist": dict(PAPER)}
    fig = F.table1_comparison(ours, E.PAPER_TABLE1, titles=E.TITLES)
    with_paper, stand_in = fig.axes
    heights = [p.get_height() for p in with_paper.patches]
    assert heights == pytest.approx([*PAPER.values(), *PAPER.values()])
    assert len(stand_in.patches) == 5 and stand_in.get_title() == "Fashion-MNIST (stand-in)"


def test_lr_selection_circles_the_chosen_rate():
    fig = F.lr_selection({"Tanh": {0.01: 0.3, 0.1: 0.2}}, {"Tanh": 0.1})
    circle = fig.axes[0].get_lines()[1]
    assert circle.get_xdata()[0] == 0.1 and circle.get_ydata()[0] == pytest.approx(20.0)


def test_error_curves_panels_draw_a_panel_per_data_set():
    runs = {E.row_label(a, i): rs for (a, i), rs in fake_table({r: 0.3 for r in E.ROWS}).items()}
    fig = F.error_curves_panels({"MNIST": runs, "CIFAR-10": runs})
    assert [ax.get_title() for ax in fig.axes] == ["MNIST", "CIFAR-10"]
    assert all(len(ax.get_lines()) == 5 for ax in fig.axes)


# ---- the sweeps behind the chapter ---------------------------------------------------------------


def test_learning_rates_of_all_models_are_selected_in_one_sweep(monkeypatch):
    from glorot import experiments

    calls = []

    def fake_run_many(cfgs, workers=1, progress=False, profile=None):
        calls.append(len(cfgs))
        # validation error lowest at lr 0.2 for tanh, at 0.05 for the others; sigmoid at 0.05
        # diverges
        runs = []
        for c in cfgs:
            e = abs(c.lr - (0.2 if c.activation == "tanh" else 0.05))
            evals = {k: np.array([e]) for k in ("test_error", "valid_error", "train_loss")}
            diverged = c.activation == "sigmoid" and c.lr == 0.05
            runs.append(
                Run(c, {}, {"updates": np.array([c.updates]), **evals}, 1 if diverged else None)
            )
        return runs

    monkeypatch.setattr(experiments, "run_many", fake_run_many)
    smoke = PROFILES["smoke"]
    selections = experiments.select_lrs(smoke)
    assert calls == [len(TABLE1) * len(smoke.lr_grid)]
    assert selections[("tanh", "normalized")].lr == 0.2
    assert selections[("softsign", "standard")].lr == 0.05
    assert selections[("sigmoid", "standard")].lr == 0.2  # the diverged rate is never chosen
    assert experiments.select_lr(smoke, "tanh", "standard").lr == 0.2
    runs = experiments.table1_runs(smoke)
    assert calls[-2:] == [10, 5]  # one sweep of selection runs, one of main runs
    assert runs[("tanh", "normalized")][0].config.lr == 0.2


def test_finite_runs_are_budgeted_by_profile_and_check_their_arguments():
    from glorot import experiments
    from glorot.config import ConfigError

    for name in ("smoke", "default"):
        cfg = experiments.finite_config(PROFILES[name], "mnist", "tanh", "normalized", 0.01)
        assert cfg.updates == PROFILES[name].finite_updates and cfg.dataset == "mnist"
        assert cfg.jacobian_examples == 0 and cfg.updates // cfg.probe_every == 10
    assert PROFILES["smoke"].finite_updates <= 200
    with pytest.raises(ConfigError, match="unknown lr_from 'best'; choose one of shapeset, select"):
        experiments.finite_runs(PROFILES["smoke"], "mnist", lr_from="best")
