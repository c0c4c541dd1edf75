"The toy world's simulated humans plug into the human evaluation unchanged: posts as contexts, ranks, acceptances."
import random

import numpy as np
import pandas as pd
import pytest

from rlaif_repro.human_eval import RATE_COLUMNS, WIN_COLUMNS, RaterProtocol, evaluate, rank_items, win_rate
from rlaif_repro.paper import PAPER
from rlaif_repro.toy_world import generate_posts, gold_utility, make_raters, make_summary


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
    h = hr[~hr.length_controlled].set_index("policy").harmless_rate
    assert h["RLAIF"] > h["SFT"]
    assert res["rankings"].item_id.nunique() == 60 and res["ratings"].rater_id.nunique() > 3


def test_toy_policy_against_its_copy_is_even(toy_items):
    rk = rank_items(toy_items.assign(copy=toy_items.RLAIF), ["RLAIF", "copy"], make_raters(0), k=3, desc=None)
    w = win_rate(rk, "RLAIF", "copy")
    assert w["ci_low"] < 0.5 < w["ci_high"]
