"The toy world across modules: determinism, the build cache and its lock, the `toy` task and the `toy:` model names."
import os, subprocess, sys, textwrap, time
from pathlib import Path

import pytest
import torch

import rlaif_repro.toy_world as tw
from rlaif_repro.data import COMPARISON_FEATURES, PROMPT_FEATURES, load_task
from rlaif_repro.models import load_causal_lm, load_tokenizer

TINY_SPLITS = {"train": 24, "validation": 8, "test": 8}
TINY_MODELS = {"policy": dict(hidden=32, layers=1, heads=2, epochs=0.5, lr=3e-3, batch_size=8),
               **{f"labeler-{s}": dict(hidden=16, layers=1, heads=2, steps=3, lr=3e-3, batch_size=8, corpus=24) for s in ("XS", "S", "L")}}

@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("RLAIF_REPRO_PROGRESS", "0")

@pytest.fixture
def tiny_world(tmp_path, monkeypatch):
    "A world with a handful of posts and models trained for a few steps, in a temporary root"
    monkeypatch.setenv("RLAIF_REPRO_TOY_ROOT", str(tmp_path / "worlds"))
    monkeypatch.setattr(tw, "TOY_SPLITS", TINY_SPLITS)
    monkeypatch.setattr(tw, "TOY_MODELS", TINY_MODELS)
    return tmp_path / "worlds"

def test_same_seed_same_posts_and_labels():
    a, b = tw.generate_posts(3, "train", 50), tw.generate_posts(3, "train", 50)
    assert a == b and a != tw.generate_posts(4, "train", 50)
    raters = tw.make_raters(3)
    votes = lambda: [tw.panel_compare(raters, p, p.reference, tw.toy_summary(p, ["what"]), key=p.id) for p in a]
    assert votes() == votes()
    assert tw.judging_corpus(3, 40) == tw.judging_corpus(3, 40)

def test_toy_task_schemas(tiny_world):
    ds = load_task("toy", "validation")
    assert ds["prompts"].features == PROMPT_FEATURES and ds["comparisons"].features == COMPARISON_FEATURES
    assert ds["prompts"].num_rows == TINY_SPLITS["validation"]
    assert ds["comparisons"].num_rows == TINY_SPLITS["validation"] * tw.COMPARISONS_PER_POST["validation"]
    c = ds["comparisons"]
    assert set(c["human_choice"]) <= {0, 1} and all(1 <= x <= 9 and x != 5 for x in c["confidence"])
    assert all(x <= 4 for x, h in zip(c["confidence"], c["human_choice"]) if h == 0)
    assert set(c["task"]) == {"toy"} and all(r1 != r2 for r1, r2 in zip(c["response_1"], c["response_2"]))
    w = tw.ToyWorld()
    for row in c: assert w.post(row["id"]).context == row["context"]
    assert load_task("toy", "train", limit=5)["prompts"].num_rows == 5
    with pytest.raises(ValueError, match="data_files must be None"): load_task("toy", "train", data_files="x.jsonl")

def test_models_load_through_the_factory(tiny_world):
    for name in ("toy:policy", "toy:labeler-XS", "toy:labeler-L@2"):
        model, tok = load_causal_lm(name, device="cpu")
        assert model.config.vocab_size == len(tok) and tok.pad_token_id is not None
    assert (tiny_world / "seed2" / "labeler-L" / "BUILD.json").exists() and not (tiny_world / "seed2" / "policy").exists()
    assert load_tokenizer("toy:labeler-S").decode(load_tokenizer("toy:labeler-S")("My cat ate my lunch.")["input_ids"],
                                                  skip_special_tokens=True) == "My cat ate my lunch."
    with pytest.raises(ValueError, match="not a toy model"): load_causal_lm("toy:labeler-M")
    with pytest.raises(ValueError, match="non-negative integer"): load_causal_lm("toy:policy@x")

def test_same_seed_same_weights(tiny_world, tmp_path):
    a = tw.ensure_part("labeler-XS", 1)
    b = tw.ensure_part("labeler-XS", 1, root=tmp_path / "other")
    ma, _ = load_causal_lm(a, device="cpu"); mb, _ = load_causal_lm(b, device="cpu")
    for (n, p), (_, q) in zip(ma.state_dict().items(), mb.state_dict().items()): assert torch.equal(p, q), n

def test_cached_rebuild_is_fast(tiny_world):
    w = tw.build_world(0, workers=1)
    assert all(v is not None for v in w.built().values())
    t0 = time.time(); tw.build_world(0, workers=1); w2 = tw.ToyWorld(0); w2.comparisons("train")
    assert time.time() - t0 < 5
    assert w2.comparisons("test") == w.comparisons("test")

def test_two_processes_build_a_part_once(tmp_path):
    "Two processes asking for the same part at once: one builds, the other waits and reuses it"
    log = tmp_path / "builds.txt"
    code = textwrap.dedent(f"""
        import os, rlaif_repro.toy_world as tw
        inner = tw._BUILDERS["tokenizer"]
        def counting(d, seed, root):
            open({str(log)!r}, "a").write(str(os.getpid()) + "\\n")
            import time; time.sleep(2)
            return inner(d, seed, root)
        tw._BUILDERS["tokenizer"] = counting
        tw.ensure_part("tokenizer", 0, {str(tmp_path / 'w')!r})
    """)
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert len(log.read_text().split()) == 1
    assert (tmp_path / "w" / "seed0" / "tokenizer" / "BUILD.json").exists()

@pytest.mark.slow
def test_default_world_passes_its_checks():
    "The real default world (built once, about 4 minutes on 2 cores; cached afterwards) meets every check of `world_report`"
    out = tw.world_report(n=300, variants=["base_0shot", "detailed_cot_0shot"], sc_temperatures=(0.7,), print_fn=lambda *a: None)
    assert all(out["checks"].values()), out["checks"]
