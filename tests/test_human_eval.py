"The toy world's simulated humans plug into the human evaluation unchanged: posts as contexts, ranks, acceptances."
import random

import numpy as np
import pandas as pd
import pytest

from scipy import stats

from rlaif_repro.human_eval import RATE_COLUMNS, WIN_COLUMNS, RaterProtocol, evaluate, item_test, rank_items, win_rate
from rlaif_repro.paper import PAPER
from rlaif_repro.toy.world import generate_posts, gold_utility, make_raters, make_summary


@pytest.fixture(scope="module")
def toy_items():
    rng = random.Random(0)
    posts = generate_posts(0, "test", n=60)
    return pd.DataFrame([{"id": p.id, "context": p, "SFT": make_summary(p, "vague", rng), "RLAIF": make_summary(p, "full", rng),
                          "reference": p.reference} for p in posts])


def test_toy_raters_follow_the_protocol():
    assert all(isinstance(r, RaterProtocol) for r in make_raters(0))


def test_toy_world_evaluation(toy_items):
    raters = make_raters(0)
    res = evaluate(toy_items, ["SFT", "RLAIF", "reference"], raters, pairs=[("RLAIF", "SFT"), ("RLAIF", "reference")],
                   harmless=True, n_bootstrap=200, desc=False)
    wr, hr = res["win_rates"], res["harmless_rates"]
    assert list(wr.columns) == WIN_COLUMNS and list(hr.columns) == RATE_COLUMNS
    raw = wr[~wr.length_controlled].set_index("comparison")
    assert set(raw.index) <= set(PAPER["win_rates"].comparison)
    # full summaries beat vague ones for the world's raters, as its gold utility says they should
    gold = np.mean([gold_utility(p, a) > gold_utility(p, b) for p, a, b in zip(toy_items.context, toy_items.RLAIF, toy_items.SFT)])
    assert gold > 0.9 and raw.win_rate["RLAIF vs SFT"] > 0.8 and raw.p_value["RLAIF vs SFT"] < 1e-6
    # every p-value takes the item as the unit; the paper's binomial test stays beside it on the raw rows
    assert set(raw.p_method) == {"item t-test"} and raw.p_value_binomial["RLAIF vs SFT"] < 1e-6
    assert raw.p_value_binomial.notna().all() and (raw.design_effect > 0).all()
    assert set(wr[wr.length_controlled].p_method) == {"logit Wald, item-clustered"} and wr[wr.length_controlled].p_value_binomial.isna().all()
    h = hr[~hr.length_controlled].set_index("policy").harmless_rate
    assert h["RLAIF"] > h["SFT"]
    assert res["rankings"].item_id.nunique() == 60 and res["ratings"].rater_id.nunique() > 3


def test_toy_policy_against_its_copy_is_even(toy_items):
    rk = rank_items(toy_items.assign(copy=toy_items.RLAIF), ["RLAIF", "copy"], make_raters(0), k=3, desc=None)
    w = win_rate(rk, "RLAIF", "copy")
    assert w["ci_low"] < 0.5 < w["ci_high"]


def test_toy_win_rate_p_value_is_the_item_t_test(toy_items):
    "Three outcomes per item: the item-level p-value is the one-sample t-test of the per-item win shares"
    rk = rank_items(toy_items, ["RLAIF", "reference"], make_raters(0), k=3, desc=None)
    w = win_rate(rk, "RLAIF", "reference", n_bootstrap=200)
    wide = rk.pivot(index=["item_id", "rater_id"], columns="policy", values="rank")
    shares = (wide.RLAIF < wide.reference).groupby(level=0).mean()
    assert w["p_value"] == pytest.approx(stats.ttest_1samp(shares, 0.5).pvalue, rel=1e-9)
    assert w["p_value_binomial"] == pytest.approx(stats.binomtest(int(round(w["win_rate"] * w["n"])), w["n"]).pvalue, rel=1e-9)


def test_item_test_keeps_its_level_where_the_binomial_does_not():
    "No true difference, items that differ (design effect about 2): the item test rejects about 5%, the binomial about 15%"
    rng = np.random.default_rng(1)
    rows = pd.DataFrame([item_test(rng.binomial(3, rng.beta(0.5, 0.5, 80)), np.full(80, 3)) for _ in range(1000)])
    assert abs((rows.p_value < 0.05).mean() - 0.05) <= 0.025
    assert (rows.p_value_binomial < 0.05).mean() > 0.1
    assert rows.design_effect.mean() == pytest.approx(2.0, abs=0.15)
