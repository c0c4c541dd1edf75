"The toy world across modules: determinism, the build cache and its lock, the `toy` task and the `toy:` model names, rater pools, the drifted judge and the labelers' reliability check."
import json, os, subprocess, sys, textwrap, time
from pathlib import Path

import pytest
import torch

import rlaif_repro.toy as tw
import rlaif_repro.toy.build as twb
import rlaif_repro.toy.world as tww
from rlaif_repro.core import content_key, stable_hash
from rlaif_repro.toy.report import world_report
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
    # each module that imports a constant holds its own binding: patch it wherever it is bound
    mods = [sys.modules[f"rlaif_repro.toy.{m}"] for m in ("world", "lms", "build", "task", "report")]
    for name, value in (("TOY_SPLITS", TINY_SPLITS), ("TOY_MODELS", TINY_MODELS),
                        ("RELIABILITY", tw.RELIABILITY | {"pairs": 12, "attempts": 2})):   # a short check, one retry
        for mod in mods:
            if hasattr(mod, name): monkeypatch.setattr(mod, name, value)
    return tmp_path / "worlds"

def test_same_seed_same_posts_and_labels():
    a, b = tw.generate_posts(3, "train", 50), tw.generate_posts(3, "train", 50)
    assert a == b and a != tw.generate_posts(4, "train", 50)
    raters = tw.make_raters(3)
    votes = lambda: [tw.panel_compare(raters, p, p.reference, tww.toy_summary(p, ["what"]), key=p.id) for p in a]
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
    r = w.built()["labeler-XS"]["reliability"]   # a labeler trained for 3 steps is degenerate: retried, then reported
    assert r["passed"] is False and r["attempts"] == 2 and len(r["tries"]) == 2 and r["pairs"] == 12
    assert r["tries"][0]["init_seed"] == stable_hash("labeler-XS", 0) != r["tries"][1]["init_seed"]
    assert any(line.startswith("labeler-XS of world 0 failed its reliability check after 2 attempts") for line in w.unreliable())
    t0 = time.time(); tw.build_world(0, workers=1); w2 = tw.ToyWorld(0); w2.comparisons("train")
    assert time.time() - t0 < 5
    assert w2.comparisons("test") == w.comparisons("test")

def test_two_processes_build_a_part_once(tmp_path):
    "Two processes asking for the same part at once: one builds, the other waits and reuses it"
    log = tmp_path / "builds.txt"
    code = textwrap.dedent(f"""
        import os, rlaif_repro.toy.build as tw
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
    out = world_report(n=300, variants=["base_0shot", "detailed_cot_0shot"], sc_temperatures=(0.7,), print_fn=lambda *a: None)
    assert all(out["checks"].values()), out["checks"]

# ---- rater pools, the drifted judge, names and folders (none of these trains a model)

# the judging corpus and the label pool of worlds 0 and 1, hashed at world version 2 (TL;DR-like references, raters' length taste).
# The pool's hashes were taken again at 12 significant digits after the full-precision ones stopped matching on another
# machine with the same code and numpy; the parameters pass through np.exp, whose last bit may differ between CPUs.
GOLDEN = {"corpus": {0: "4d55917910d7d709", 1: "a7682a89e49fd5d6"}, "raters": {0: "4fa604754b81e74b", 1: "82d2cbbab06220c7"}}

def _at_12_digits(x):
    if isinstance(x, float): return float(f"{x:.12g}")
    if isinstance(x, (list, tuple)): return [_at_12_digits(v) for v in x]
    if isinstance(x, dict): return {k: _at_12_digits(v) for k, v in x.items()}
    return x

def test_drift_zero_is_the_judge_as_before():
    for seed in (0, 1):
        assert content_key(tw.judging_corpus(seed, 300)) == GOLDEN["corpus"][seed]
        assert content_key(tw.judging_corpus(seed, 300, judge_drift=0.0)) == GOLDEN["corpus"][seed]
        assert content_key(_at_12_digits([r.__dict__ for r in tw.make_raters(seed)])) == GOLDEN["raters"][seed]
    import transformers
    recipe = {"hidden": 48, "layers": 2, "heads": 4, "steps": 800, "lr": 0.005, "batch_size": 32, "corpus": 12800,
              "formats": tw.JUDGING_FORMATS, "kinds": tw.JUDGING_KINDS, "miscount": 0.04, "loss": {"prompt_weight": 0.3, "answer_weight": 12.0},
              "reliability": tw.RELIABILITY}
    meta = {"part": "labeler-S", "seed": 0, "version": 2, "recipe": recipe, "splits": {"train": 4000, "validation": 500, "test": 500},
            "transformers": transformers.__version__.split(".")[0]}
    assert tw.part_meta("labeler-S", 0) == meta and tw.part_meta("labeler-S", 0, judge_drift=0.0) == meta
    drifted = tw.part_meta("labeler-S", 0, judge_drift=0.5)
    assert drifted["recipe"] == recipe | {"judge_drift": 0.5, "judge": {"invented_weight": 0.75, "length_taste": 0.06, "word_bonus": 0.15, "ramble_penalty": 0.5}}
    assert tw.part_meta("policy", 0, judge_drift=0.5) == tw.part_meta("policy", 0)   # the policy does not depend on the judge

def test_judge_drift_moves_the_label():
    p = tw.generate_posts(0, "validation", 3)[0]
    brief = tww.toy_summary(p)                                                    # 3 facts, nothing invented, 9 words
    other = next(w for ws in tww.WHO.values() for w in ws if w not in p.content)
    long = tww.toy_summary(p, when=True) + f" My {other} is upset too. We had soup on Friday."   # one invented fact, 21 words
    cb, cl = tw.labeler_view(p, brief), tw.labeler_view(p, long)
    assert cb == (3, 0) and cl == (3, 1)
    base = tw.JudgeRule()
    assert tw.judge_label(cb, cl, brief, long) == tw.judge_label(cb, cl, brief, long, judge_drift=0) == base.label(cb, cl, brief, long) == 1
    assert tw.judge_label(cb, cl, brief, long, judge_drift=1) == 2 != base.label(cb, cl, brief, long)
    assert tw.judge_rule(1) == tw.JudgeRule(invented_weight=0.0, word_bonus=tw.DRIFT_WORD_BONUS, ramble_penalty=0.0)
    for bad in (1.01, -0.5, float("nan"), "half", "invented:2", "taste:0.5", None, True):
        with pytest.raises(ValueError, match=r"must be a number in \[0, 1\]"): tw.judge_rule(bad)

def test_rater_pools_are_disjoint():
    label, ev = tw.make_raters(2), tw.make_raters(2, pool="eval")
    assert [r.id for r in label] == list(range(12)) and [r.id for r in ev] == list(range(100, 112))
    assert all(a.weights != b.weights for a, b in zip(label, ev))
    w = tw.ToyWorld(2, root="/tmp/unused")
    assert w.raters == label and w.eval_raters == ev
    with pytest.raises(ValueError, match="not a rater pool"): tw.make_raters(0, pool="both")

def test_toy_model_names():
    assert tw.parse_toy_name("labeler-L@1~0.5") == ("labeler-L", 1, 0.5)
    assert tw.parse_toy_name("labeler-L~0.5") == ("labeler-L", None, 0.5)
    assert tw.parse_toy_name("labeler-L@1") == ("labeler-L", 1, 0.0) and tw.parse_toy_name("policy") == ("policy", None, 0.0)
    assert tw.toy_model_name("labeler-S", 3, 0.25) == "toy:labeler-S@3~0.25" and tw.toy_model_name("policy", None, 0.5) == "toy:policy"
    for name, msg in [("labeler-L@1~1.5", r"number in \[0, 1\]"), ("labeler-L@1~abc", r"number in \[0, 1\]"), ("policy~0.5", "only labelers"),
                      ("labeler-L~0.5@1", "not a toy model name"), ("labeler-XL~0.5", "not a toy model"), ("labeler-L@-1~0.5", "non-negative integer")]:
        with pytest.raises(ValueError, match=msg): tw.parse_toy_name(name)
        with pytest.raises(ValueError, match=msg): load_causal_lm("toy:" + name)

def test_drifted_judge_folder_layout(tmp_path, monkeypatch):
    "Labelers of a drifted judge build into judge-<d>/ of the world folder; the other parts are shared (labeler training faked)"
    calls = []
    def fake(part):
        def build(d, seed, root, judge_drift=0.0):
            calls.append((part, judge_drift)); (Path(d)/"weights.txt").write_text(part)
            if not part.startswith("labeler"): return {}
            return {"reliability": {"passed": part != "labeler-S", "attempts": 3 if part == "labeler-S" else 1, "kept": 2,
                                    "agreement": 0.55, "same_position": 0.97}}
        return build
    for part in ("labeler-XS", "labeler-S", "labeler-L", "policy", "comparisons"): monkeypatch.setitem(twb._BUILDERS, part, fake(part))
    root = tmp_path / "w"
    assert tw.ensure_part("tokenizer", 1, root, judge_drift=0.5) == root / "seed1" / "tokenizer"
    d = tw.ensure_part("labeler-L", 1, root, judge_drift=0.5)
    assert d == root / "seed1" / "judge-0.5" / "labeler-L" and calls == [("labeler-L", 0.5)]
    assert json.loads((d / "BUILD.json").read_text())["meta"]["recipe"]["judge_drift"] == 0.5
    assert not (root / "seed1" / "labeler-L").exists()
    w = tw.build_world(1, root, workers=1, judge_drift=0.5)
    assert (w.seed, w.judge_drift) == (1, 0.5) and all(v is not None for v in w.built().values())
    assert sorted(p.name for p in (root / "seed1").iterdir() if not p.name.startswith(".")) == ["comparisons", "judge-0.5", "policy", "tokenizer"]
    assert sorted(p.name for p in (root / "seed1" / "judge-0.5").iterdir() if not p.name.startswith(".")) == ["labeler-L", "labeler-S", "labeler-XS"]
    assert calls.count(("labeler-L", 0.5)) == 1 and ("labeler-XS", 0.0) not in calls and ("policy", 0.0) in calls
    assert w.path("labeler-S") == root / "seed1" / "judge-0.5" / "labeler-S"
    assert w.unreliable() == ["labeler-S of world 1 (judge drift 0.5) failed its reliability check after 3 attempts "
                              "(agreement with its judge 55%, same position 97%; attempt 2 kept)"]
    base = tw.ToyWorld(1, root)
    assert base.built()["labeler-L"] is None and base.built()["policy"] is not None   # the world's own labelers are not built
    with pytest.raises(ValueError, match=r"must be a number in \[0, 1\]"): tw.ensure_part("labeler-L", 1, root, judge_drift=2)

def test_a_process_of_a_launch_builds_world_parts_in_a_child(tmp_path, monkeypatch):
    "Under `accelerate launch` (RANK, WORLD_SIZE set) a part is built by a child process that trains alone, not sharded with the launch"
    monkeypatch.setenv("RANK", "1"); monkeypatch.setenv("WORLD_SIZE", "2")
    d = tw.ensure_part("tokenizer", seed=9, root=tmp_path)
    assert json.loads((d/"build_info.json").read_text())["pid"] != os.getpid()
    assert tw.ensure_part("tokenizer", seed=9, root=tmp_path) == d   # built: served from the folder

def test_world_calibration_pairs_are_not_study_pairs():
    "world_report checks the labelers on the last n validation pairs; a run's labeler studies take the first data.study_pairs"
    import inspect
    from rlaif_repro.config import toy_preset
    from rlaif_repro.toy.report import world_report
    n = inspect.signature(world_report).parameters["n"].default
    per_world = tw.COMPARISONS_PER_POST["validation"] * tww.TOY_SPLITS["validation"]   # the same count in every world
    assert toy_preset().data.study_pairs + n <= per_world, (toy_preset().data.study_pairs, n, per_world)
    assert "[-n:]" in inspect.getsource(world_report)   # the tail, not the head
