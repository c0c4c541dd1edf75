"Labeler sweeps and plots through the installed module: table shape, monotonicity, every plot function draws."
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RLAIF_REPRO_PROGRESS", "0")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest
from fastcore import test as fc_test

from rlaif_repro.labeler_analysis import (METRIC_COLUMNS, RATE_CIS, PlantedLabeler, calibration_table, planted_labels,
                                          plot_alignment_by_variant, plot_calibration, plot_labeler_size,
                                          plot_self_consistency, show_cis, sweep, synthetic_comparisons)


@pytest.fixture(scope="module")
def comparisons():
    return synthetic_comparisons(1500, seed=3)


@pytest.fixture(scope="module")
def swept(comparisons):
    settings = {"weak": dict(accuracy=0.6, position_bias=0.4, favoured_position=2),
                "medium": dict(accuracy=0.75, position_bias=0.2, favoured_position=2),
                "strong": dict(accuracy=0.9, position_bias=0.05, favoured_position=1)}
    return sweep(planted_labels, comparisons, settings, key="size", return_labels=True)


def test_sweep_table_shape_and_columns(swept):
    table, labels = swept
    assert table.shape == (3, 5 + len(METRIC_COLUMNS))
    assert list(table.columns[:5]) == ["size", "accuracy", "position_bias", "favoured_position", "task"]
    assert list(table.columns[5:]) == list(METRIC_COLUMNS)
    assert table["size"].tolist() == ["weak", "medium", "strong"] == list(labels)
    assert (table.n == 1500).all() and (table.n_both_orders == 1500).all()
    assert table[list(METRIC_COLUMNS)].notna().all().all()


def test_sweep_orders_labelers_like_their_planted_parameters(swept):
    table, _ = swept
    assert table.alignment.is_monotonic_increasing                  # higher accuracy -> higher alignment
    assert table.same_position_rate.is_monotonic_decreasing         # less position bias -> fewer same-position pairs
    assert (table.ci_low < table.alignment).all() and (table.alignment < table.ci_high).all()
    assert table.pos1_share.iloc[0] < 0.2 and table.pos1_share.iloc[2] > 0.5   # the favoured position wins


def test_every_rate_of_a_sweep_has_its_interval(swept):
    "Alignment, same position, position-1 share, length preference: each with a Wilson interval that holds it, shown by `show_cis`"
    table, _ = swept
    for rate, (lo, hi) in RATE_CIS.items():
        assert ((table[lo] <= table[rate]) & (table[rate] <= table[hi]) & (table[hi] - table[lo] < 0.15)).all(), rate
    shown = show_cis(table, ["size", "alignment", "same_position_rate"])
    assert list(shown.columns) == ["size", "alignment % [CI]", "same_position_rate % [CI]"]
    r = table.iloc[1]
    assert shown["same_position_rate % [CI]"][1] == (f"{100*r.same_position_rate:.1f} "
                                                     f"[{100*r.same_position_ci_low:.1f}, {100*r.same_position_ci_high:.1f}]")


def test_every_plot_function_draws(swept, comparisons):
    table, labels = swept
    paper = pd.DataFrame({"size": ["weak", "medium", "strong"], "alignment": [0.6, 0.7, 0.8],
                          "same_position_rate": [0.5, 0.3, 0.2]})
    sc = table.assign(samples=[1, 16, 16], temperature=[0.0, 0.5, 1.0])
    figs = [plot_alignment_by_variant(table, variant="size", paper=paper),
            plot_labeler_size(table, paper=paper),
            plot_self_consistency(sc),
            plot_calibration(labels["medium"]),
            plot_calibration(calibration_table(labels["strong"], bins=5))]
    for _fig, ax in figs:
        fc_test.test_fig_exists(ax)
    plt.close("all")


def test_sweep_accepts_a_datasets_table(comparisons):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_pandas(comparisons.iloc[:200].drop(columns="confidence"))
    fn = lambda comps, **kw: datasets.Dataset.from_pandas(PlantedLabeler(**kw).label(comps))
    table = sweep(fn, ds, [dict(accuracy=0.7)], by=None)
    assert len(table) == 1 and table.n.iloc[0] == 200
