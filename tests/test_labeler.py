"The labeler end to end: real HH pairs, plain and chat tokenizers, CoT and self-consistency, a real kill and resume."
import os, signal, subprocess, sys, textwrap, time, warnings
from pathlib import Path

import numpy as np
import pytest

from rlaif_repro.config import LabelerConfig
from rlaif_repro.data import load_task
from rlaif_repro.labeler import Labeler
from rlaif_repro.labeler_analysis import alignment, same_position_rate
from rlaif_repro.models import load_causal_lm

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared/data/hh-rlhf/harmless-base-test.jsonl.gz"
FIXTURE = ROOT / "tests/fixtures/hh/harmless-base-test.jsonl"

@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("RLAIF_REPRO_CACHE", str(tmp_path_factory.getbasetemp() / "model-cache"))

def pairs(n, src=None):
    src = src or (REAL if REAL.exists() else FIXTURE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_task("hh_harmless", "test", data_files=src, limit=n)["comparisons"]

@pytest.mark.skipif(not REAL.exists(), reason=f"real HH-RLHF test file not found at {REAL}")
@pytest.mark.parametrize("model_name", ["tiny:gpt2", "tiny:llama-chat"])
@pytest.mark.parametrize("variant,k", [("base_2shot", 1), ("base_cot_0shot", 1), ("base_cot_0shot", 3)])
def test_real_hh_pairs_every_mode(model_name, variant, k):
    model, tok = load_causal_lm(model_name, device="cpu")
    cfg = LabelerConfig(variant=variant, self_consistency=k, sc_temperature=0.7, cot_max_new_tokens=6, batch_size=3)
    lab = Labeler(model.eval(), tok, "hh_harmless", cfg)
    assert lab.chat == (model_name == "tiny:llama-chat")
    ds = pairs(5)
    out = lab.label(ds, desc=None)
    for col in ("p_1", "p_1_fwd", "p_1_rev"):
        v = np.array(out[col]); assert ((v > 0) & (v < 1)).all()
    np.testing.assert_allclose(out["p_1"], (np.array(out["p_1_fwd"]) + np.array(out["p_1_rev"])) / 2, atol=1e-9)
    assert list(out["id"]) == list(ds["id"]) and list(out["human_choice"]) == list(ds["human_choice"])
    if "cot" in variant: assert all(len(r) == k for r in list(out["rationale_fwd"]) + list(out["rationale_rev"]))
    assert lab.usage.pairs == 5 and lab.usage.input_tokens > 0
    assert 0 <= alignment(out.to_pandas()).rate <= 1 and same_position_rate(out.to_pandas()).n == 5

def test_long_contexts_are_cut_from_the_start():
    model, tok = load_causal_lm("tiny:gpt2", device="cpu")
    ds = pairs(2, FIXTURE).to_list()
    ds[0]["context"] = "Human: " + "tell me more about gardens. " * 200 + "\n\nAssistant:"
    lab = Labeler(model.eval(), tok, "hh_harmless", LabelerConfig(variant="base_0shot", max_input_tokens=400))
    with pytest.warns(UserWarning, match="1 contexts were cut"):
        out = lab.label(ds, desc=None)
    assert len(out) == 2

def test_bad_rows_name_row_and_field():
    model, tok = load_causal_lm("tiny:gpt2", device="cpu")
    lab = Labeler(model.eval(), tok, "hh_harmless", LabelerConfig(variant="base_0shot"))
    rows = pairs(2, FIXTURE).to_list(); rows[1]["response_2"] = None
    with pytest.raises(ValueError, match=r"row 1 .*field 'response_2'"):
        lab.label(rows, desc=None)

@pytest.mark.parametrize("model_name", ["tiny:gpt2", "tiny:llama-chat"])
def test_slot_buffers_match_full_passes(model_name):
    "The in-place cache buffers, reused and grown across calls, give what one full forward pass per prompt gives"
    import torch
    model, tok = load_causal_lm(model_name, device="cpu")
    lab = Labeler(model.eval(), tok, "hh_harmless", LabelerConfig(variant="base_2shot", batch_size=3))
    lab._truncated = 0
    groups = sorted((lab._fit(c)[1] for c in pairs(7, FIXTURE).to_list()), key=lambda g: len(g[0]))   # later calls: longer rows
    got = [lp for i in range(0, len(groups), 3) for lp in lab._read(groups[i:i + 3], lab.label_ids)]
    assert type(lab._prefix_memo["slots"].layers[0]).__name__ == "_SlotLayer"
    with torch.no_grad():
        for g, lps in zip(groups, got):
            for s, row in zip(g, lps):
                lp = torch.log_softmax(model(torch.tensor([s])).logits[0, -1], -1)
                # a tiny random model barely reacts to its context (one corrupted prefix key moves these log-probs by
                # ~2e-5, the labels by ~3e-6), so the check is on log-probs, and tight
                np.testing.assert_allclose(row, [torch.logsumexp(lp[ids], 0).item() for ids in lab.label_ids], atol=5e-6)

KILL_SCRIPT = textwrap.dedent("""
    import sys, time, warnings
    from rlaif_repro.config import LabelerConfig
    from rlaif_repro.data import load_task
    from rlaif_repro.labeler import Labeler
    from rlaif_repro.models import load_causal_lm
    real = Labeler._label_batch
    def slow(self, batch):            # a slow model: each batch takes a while
        out = real(self, batch); time.sleep(0.4); return out
    Labeler._label_batch = slow
    warnings.simplefilter("ignore")
    ds = load_task("hh_harmless", "test", data_files=sys.argv[1])["comparisons"]
    ds = ds.select(list(range(len(ds))) * 4)          # 16+ rows -> many batches
    ds = ds.map(lambda r, i: {"id": f"{r['id']}#{i}"}, with_indices=True)
    model, tok = load_causal_lm("tiny:gpt2", device="cpu")
    Labeler(model.eval(), tok, "hh_harmless", LabelerConfig(variant="base_0shot", batch_size=2)).label(ds, cache_dir=sys.argv[2], desc=None)
    print("finished")
""")

def test_killed_run_resumes_without_recomputing(tmp_path):
    cache = tmp_path / "labels"
    env = {**os.environ, "RLAIF_REPRO_PROGRESS": "0", "HF_HUB_OFFLINE": "1"}
    p = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(FIXTURE), str(cache)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(cache.glob("batch-*.json"))) < 3 and p.poll() is None: time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    done_before = {f.name for f in cache.glob("batch-*.json")}
    assert len(done_before) >= 3 and not list(cache.glob(".*.tmp")), "no finished batch, or a half-written one left behind"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_task("hh_harmless", "test", data_files=FIXTURE)["comparisons"]
    ds = ds.select(list(range(len(ds))) * 4).map(lambda r, i: {"id": f"{r['id']}#{i}"}, with_indices=True)
    model, tok = load_causal_lm("tiny:gpt2", device="cpu")
    lab = Labeler(model.eval(), tok, "hh_harmless", LabelerConfig(variant="base_0shot", batch_size=2))
    calls = []
    real = Labeler._label_batch
    def counting(self, batch): calls.append(len(batch)); return real(self, batch)
    Labeler._label_batch = counting
    try: out = lab.label(ds, cache_dir=cache, desc=None)
    finally: Labeler._label_batch = real
    assert lab.last_run["cached"] == len(done_before)
    assert len(calls) == lab.last_run["batches"] - len(done_before)
    fresh = Labeler(model, tok, "hh_harmless", LabelerConfig(variant="base_0shot", batch_size=2)).label(ds, desc=None)
    np.testing.assert_allclose(out["p_1"], fresh["p_1"], atol=1e-6)

@pytest.mark.gpu
def test_vllm_backend_matches_hf(tmp_path):
    pytest.importorskip("vllm")
    import torch
    if not torch.cuda.is_available(): pytest.skip("vLLM needs a CUDA device")
    from rlaif_repro.models import resolve_model_path
    ds = pairs(4, FIXTURE)
    hf = Labeler.from_pretrained("tiny:gpt2", "hh_harmless", LabelerConfig(variant="base_0shot"), device="cuda", dtype="float32")
    vl = Labeler.from_pretrained(resolve_model_path("tiny:gpt2"), "hh_harmless", LabelerConfig(variant="base_0shot", backend="vllm"), dtype="float32")
    np.testing.assert_allclose(hf.label(ds, desc=None)["p_1"], vl.label(ds, desc=None)["p_1"], atol=1e-3)

def _table_lm(tok, table:dict, hidden:int=8):
    "A causal LM whose next-token distribution depends only on the last token: table[last id or None] = {id: prob}"
    import math, torch
    from transformers import LlamaConfig, LlamaForCausalLM
    keys = [None] + [k for k in table if k is not None]
    m = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=False)).eval()
    with torch.no_grad():
        for l in m.model.layers: l.self_attn.o_proj.weight.zero_(); l.mlp.down_proj.weight.zero_()
        E, W = m.model.embed_tokens.weight, m.lm_head.weight
        E.zero_(); E[:, 0] = 100.0; W.fill_(-40 / hidden ** 0.5)
        for k, key in enumerate(keys):
            if key is not None: E[key] = 0.0; E[key, k] = 100.0
            for t, pr in table[key].items(): W[t, k] = math.log(pr) / hidden ** 0.5
    return m

@pytest.mark.parametrize("style", ["gpt2", "llama", "toy"])
def test_d_rlaif_reads_every_way_of_writing_10(style):
    """Hand-set next-token probabilities under three tokenizer styles: ' 10' one token but '10' = '1', '0' (tiny GPT-2),
    every number split into digits (tiny Llama), '10' one token (the toy world's word-level tokenizer)"""
    if style == "toy":
        from rlaif_repro.toy.lms import build_toy_tokenizer
        tok = build_toy_tokenizer()
    else: tok = load_causal_lm(f"tiny:{style}", device="cpu")[1]
    ids = lambda s: tok.encode(s, add_special_tokens=False)
    (one,), (zero,), eos = ids("1"), ids("0"), tok.eos_token_id
    if style == "gpt2":
        assert (len(ids(" 10")), len(ids("10"))) == (1, 2)
        table = {None: {one: 0.3, ids(" 1")[0]: 0.1, ids(" 10")[0]: 0.2, ids("5")[0]: 0.4}, one: {zero: 0.75, eos: 0.25}}
        want = [0.3 * 0.25 + 0.1, 0, 0, 0, 0.4, 0, 0, 0, 0, 0.2 + 0.3 * 0.75]
    elif style == "llama":
        assert len(ids("10")) == 2 and len(ids(" 10")) == 3
        table = {None: {one: 0.5, ids("7")[0]: 0.5}, one: {zero: 0.6, eos: 0.4}}
        want = [0.2, 0, 0, 0, 0, 0, 0.5, 0, 0, 0.3]
    else:
        assert len(ids("10")) == 1 and len(ids(" 10")) == 1
        table = {None: {ids("10")[0]: 0.25, ids(" 10")[0]: 0.25, one: 0.2, ids("3")[0]: 0.3}}
        want = [0.2, 0, 0.3, 0, 0, 0, 0, 0, 0, 0.5]
    lab = Labeler(_table_lm(tok, table), tok, "toy", LabelerConfig(variant="base_0shot"))
    ctx, resp = "SUBREDDIT: r/cooking\n\nTITLE: bread\n\nPOST: My bread is hard.", "Hard bread."
    np.testing.assert_allclose(lab.score_distribution([ctx, ctx], [resp, resp + " Help."]), [want, want], atol=1e-6)
    np.testing.assert_allclose(lab.score([ctx], [resp]), [(np.dot(want, np.arange(1, 11)) - 5.5) / 4.5], atol=1e-5)
