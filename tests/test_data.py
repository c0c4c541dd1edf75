"""`rlaif_repro.data` on the real HH-RLHF harmless-base test file, offline behaviour, and checks across every task
and source format. The unit tests live in nbs/02_data.ipynb."""
import gzip, json, pickle, warnings
from pathlib import Path

import pyarrow as pa, pyarrow.parquet as pq
import pytest

from rlaif_repro.data import (COMPARISON_FEATURES, PROMPT_FEATURES, TASKS, DataFormatError, DataUnavailableError,
                              DataWarning, load_task)

FIX = Path(__file__).parent/"fixtures"
REAL_HH = Path(__file__).parents[2]/"shared/data/hh-rlhf/harmless-base-test.jsonl.gz"
DIVERGENT = [f"harmless-base/test/{n}" for n in (1255, 1689, 1951, 1953, 2037)]
needs_real = pytest.mark.skipif(not REAL_HH.exists(),
    reason=f"the real harmless-base test file is not at {REAL_HH} (a fresh clone has no ../shared)")

def load(*args, **kwargs):
    "`load_task` plus the messages of the warnings it raised"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        dd = load_task(*args, **kwargs)
    return dd, [str(o.message) for o in w]

@pytest.fixture(scope="module")
def real():
    return {s: load("hh_harmless", s, data_files=REAL_HH) for s in ("validation", "test")}

# ---------------------------------------------------------------- the real harmless-base test file
@needs_real
def test_real_resplit(real):
    (val, _), (tst, _) = real["validation"], real["test"]
    nv, nt = len(val["comparisons"]), len(tst["comparisons"])
    assert nv + nt == 2307                                   # 2,312 pairs less the 5 divergent ones
    assert 0.62 < nv / (nv + nt) < 0.71                      # about 2/3 validation, 1/3 test
    assert not set(val["comparisons"]["id"]) & set(tst["comparisons"]["id"])
    for dd in (val, tst): assert list(dd["prompts"]["id"]) == list(dd["comparisons"]["id"])

@needs_real
def test_real_rows(real):
    rows = [r for s in real for r in real[s][0]["comparisons"]]
    assert all(r["context"].endswith("Assistant:") and r["context"].startswith("Human:") for r in rows)
    assert all(r[k] == r[k].strip() and "\n\nHuman:" not in r[k] for r in rows for k in ("response_1", "response_2"))
    assert {r["task"] for r in rows} == {"hh_harmless"} and {r["confidence"] for r in rows} == {None}
    assert 0.45 <= sum(r["human_choice"] for r in rows) / len(rows) <= 0.55

@needs_real
def test_real_divergent_pairs_reported(real):
    for dd, msgs in real.values():
        msg = next(m for m in msgs if "left out" in m)
        assert "left out 5 pair(s)" in msg and all(i in msg for i in DIVERGENT), msg
        assert not set(DIVERGENT) & set(dd["comparisons"]["id"])

@needs_real
def test_real_deterministic(real):
    again, _ = load("hh_harmless", "validation", data_files=REAL_HH)
    assert again["comparisons"].to_list() == real["validation"][0]["comparisons"].to_list()

@needs_real
def test_real_seed_changes_placement_only(real):
    base = real["validation"][0]["comparisons"].to_list()
    other = load("hh_harmless", "validation", data_files=REAL_HH, seed=1)[0]["comparisons"].to_list()
    assert [r["id"] for r in other] == [r["id"] for r in base]          # same pairs: the re-split ignores `seed`
    moved = [(a, b) for a, b in zip(base, other) if a["human_choice"] != b["human_choice"]]
    assert 0.4 < len(moved) / len(base) < 0.6
    assert all((a["response_1"], a["response_2"]) == (b["response_2"], b["response_1"]) for a, b in moved)

@needs_real
def test_real_limit_keeps_placement(real):
    full = real["test"][0]
    few, _ = load("hh_harmless", "test", data_files=REAL_HH, limit=100)
    assert few["comparisons"].to_list() == full["comparisons"].to_list()[:100]
    assert few["prompts"].to_list() == full["prompts"].to_list()[:100]

# ---------------------------------------------------------------- the Hub default, offline
@pytest.mark.parametrize("task, hint", [("hh_harmless", "harmless-base/test.jsonl.gz"), ("hh_helpful", "helpful-base/train.jsonl.gz"),
                                        ("tldr", "data_files={'prompts'")])
def test_hub_default_offline_says_pass_data_files(task, hint, monkeypatch, tmp_path):
    import datasets, huggingface_hub.constants as hc
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path/"hub"))          # an empty cache, whatever this machine has
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path/"datasets")
    split = "train" if task == "hh_helpful" else "test"
    with pytest.raises(DataUnavailableError) as e: load_task(task, split)
    assert "HF_HUB_OFFLINE" in str(e.value) and "pass it as data_files=" in str(e.value) and hint in str(e.value)

# ---------------------------------------------------------------- malformed rows in every source format
def _hh_rows(): return [json.loads(l) for l in (FIX/"hh/harmless-base-test.jsonl").read_text().splitlines()]
def _comparison_rows(): return [json.loads(l) for l in (FIX/"tldr/comparisons_batch.jsonl").read_text().splitlines()]
def _post_rows(): return [json.loads(l) for l in (FIX/"tldr/tldr_3_filtered_test.jsonl").read_text().splitlines()]

def _write(path:Path, rows):
    if path.suffix == ".parquet": pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        text = "".join(json.dumps(r) + "\n" for r in rows).encode()
        path.write_bytes(gzip.compress(text) if path.suffix == ".gz" else text)
    return path

def _break_hh(rows):        rows[2].pop("rejected"); return rows, "rejected"
def _break_comparison(rows): rows[2]["summaries"][1].pop("text"); return rows, "summaries[1].text"
def _break_post(rows):      rows[2]["title"] = 7; return rows, "title"

CASES = [  # (task, split, file name, rows, breaker, data_files builder, what the row numbers count)
    ("hh_harmless", "validation", "harmless-base-test.jsonl.gz", _hh_rows, _break_hh, lambda p: p, "line"),
    ("hh_harmless", "validation", "harmless-base-test.jsonl", _hh_rows, _break_hh, lambda p: {"test": p}, "line"),
    ("tldr", "train", "batch3.jsonl.gz", _comparison_rows, _break_comparison, lambda p: {"comparisons": p}, "line"),
    ("tldr", "train", "comparisons.parquet", _comparison_rows, _break_comparison, lambda p: {"comparisons": [p]}, "row"),
    ("tldr", "test", "test.jsonl", _post_rows, _break_post, lambda p: {"prompts": {"test": p}}, "line"),
]

@pytest.mark.parametrize("task, split, name, rows, breaker, files, unit", CASES, ids=[c[2] for c in CASES])
def test_malformed_row_named(task, split, name, rows, breaker, files, unit, tmp_path):
    broken, field = breaker(rows())
    path = _write(tmp_path/name, broken)
    with pytest.raises(DataFormatError) as e: load_task(task, split, data_files=files(path))
    assert f"{name}, {unit} 3:" in str(e.value) and repr(field) in str(e.value), str(e.value)
    assert (e.value.line, e.value.unit) == (3, unit) and e.value.source.endswith(name)
    assert str(pickle.loads(pickle.dumps(e.value))) == str(e.value)
    _, msgs = load(task, split, data_files=files(path), on_error="skip")
    assert any(f"skipped 1 malformed row(s) ({unit}s 3)" in m for m in msgs), msgs
    splits = ("validation", "test") if task.startswith("hh") else (split,)   # an HH row may fall in either split
    def count(data_files, **kw):
        return sum(len(t) for s in splits for t in load(task, s, data_files=data_files, **kw)[0].values())
    intact = count(files(_write(tmp_path/f"ok_{name}", rows())))
    assert count(files(path), on_error="skip") == intact - (1 if task == "tldr" else 2)   # HH: a prompt and a comparison

def test_skip_reports_counts_and_lines():
    with pytest.warns(DataWarning, match=r"skipped 3 malformed row\(s\) \(lines 3, 5, 7\)"):
        load_task("hh_harmless", "test", data_files=FIX/"bad/harmless-base-test.jsonl", on_error="skip")

# ---------------------------------------------------------------- every task, every source format
TASK_FILES = [
    ("hh_harmless", "validation", FIX/"hh/harmless-base-test.jsonl"),
    ("hh_harmless", "test", FIX/"hh/harmless-base-test.jsonl"),
    ("hh_helpful", "train", {"train": FIX/"hh/helpful-base-train.jsonl.gz"}),
    ("tldr", "test", {"prompts": FIX/"tldr/tldr_3_filtered_test.jsonl", "comparisons": FIX/"tldr/comparisons_batch.jsonl"}),
    ("tldr", "train", {"prompts": FIX/"tldr/trl_lib_tldr_test.parquet", "comparisons": FIX/"tldr/comparisons.parquet"}),
]

@pytest.mark.parametrize("task, split, files", TASK_FILES, ids=[f"{t}-{s}-{i}" for i, (t, s, _) in enumerate(TASK_FILES)])
def test_schema(task, split, files):
    dd, _ = load(task, split, data_files=files)
    assert list(dd) == ["prompts", "comparisons"]
    assert dd["prompts"].features == PROMPT_FEATURES and dd["comparisons"].features == COMPARISON_FEATURES
    c = dd["comparisons"]
    assert len(c) > 0 and len(set(c["id"])) == len(c) and set(c["human_choice"]) <= {0, 1}
    assert set(c["task"]) == {task}
    spec = TASKS[task]
    prompts = set(dd["prompts"]["prompt"])
    for r in c:   # the policy prompt made from a comparison is the one in the prompts table (same post/conversation)
        assert spec.join(r["context"], r["response_1"]).startswith(spec.format_prompt(r["context"]))
        if task != "tldr" or split == "test": assert spec.format_prompt(r["context"]) in prompts

def test_gzip_and_plain_give_the_same_tables(tmp_path):
    gz = tmp_path/"harmless-base-test.jsonl.gz"
    gz.write_bytes(gzip.compress((FIX/"hh/harmless-base-test.jsonl").read_bytes()))
    for split in ("validation", "test"):
        a, _ = load("hh_harmless", split, data_files=FIX/"hh/harmless-base-test.jsonl")
        b, _ = load("hh_harmless", split, data_files=gz)
        assert a["comparisons"].to_list() == b["comparisons"].to_list() and a["prompts"].to_list() == b["prompts"].to_list()

def test_jsonl_and_hub_parquet_comparisons_agree():
    for split in ("train", "validation", "test"):
        a, ma = load("tldr", split, data_files={"comparisons": FIX/"tldr/comparisons_batch.jsonl"}, high_confidence=True)
        b, mb = load("tldr", split, data_files={"comparisons": FIX/"tldr/comparisons.parquet"}, high_confidence=True)
        assert a["comparisons"].to_list() == b["comparisons"].to_list() and ma == mb
        assert all(r["confidence"] in (1, 2, 8, 9) for r in a["comparisons"])
