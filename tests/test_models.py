"Model factory checks that span several loaders or need more than a notebook cell: caching, padding, causality, LoRA."
import gzip, json, threading, time
from pathlib import Path

import pytest
import torch

from rlaif_repro.models import (apply_lora, build_once, build_tiny_model, load_causal_lm, load_reward_model,
                                load_tokenizer, load_value_model, reward_scores, resolve_model_path, token_values)

HH_TEST = Path(__file__).resolve().parents[2] / "shared/data/hh-rlhf/harmless-base-test.jsonl.gz"
TEXTS = ["Post: the council closed the old bridge for six months.\nTL;DR: bridge shut, buses use the north road.",
         "Human: hi\n\nAssistant: hello!", "Summary 2 - short"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    "Every test gets its own model cache and no Hub access"
    monkeypatch.setenv("RLAIF_REPRO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    torch.manual_seed(0)


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_tiny_round_trip_by_path_and_by_name(tmp_path, arch):
    path = build_tiny_model(tmp_path / f"own-{arch}", arch=arch)
    by_path, tok = load_causal_lm(path, device="cpu")
    by_name, tok2 = load_causal_lm(f"tiny:{arch}", device="cpu")
    x = tok(TEXTS, return_tensors="pt", padding=True)
    assert tok.encode(TEXTS[0]) == tok2.encode(TEXTS[0])
    with torch.no_grad(): assert torch.equal(by_path(**x).logits, by_name(**x).logits)   # same seed, same weights
    cached = Path(resolve_model_path(f"tiny:{arch}"))
    assert cached == tmp_path / "cache" / "tiny" / arch
    weights = cached / "model.safetensors"
    before = weights.stat().st_mtime_ns
    time.sleep(0.01)
    assert resolve_model_path(f"tiny:{arch}") == str(cached)
    assert weights.stat().st_mtime_ns == before                                          # reused, not rebuilt
    assert not list(cached.parent.glob(".*"))                                            # no temporary folders left


def test_different_seed_gives_different_weights(tmp_path):
    a, _ = load_causal_lm(build_tiny_model(tmp_path / "a", seed=0), device="cpu")
    b, _ = load_causal_lm(build_tiny_model(tmp_path / "b", seed=1), device="cpu")
    assert not torch.equal(a.lm_head.weight, b.lm_head.weight)


def test_concurrent_builds_end_with_one_complete_copy(tmp_path):
    "Two builders racing for the same folder both succeed and the folder holds one finished build"
    barrier, errors = threading.Barrier(2), []
    def build(d):
        barrier.wait(timeout=10)          # both are mid-build at the same time
        (d / "weights.bin").write_bytes(b"x" * 1000)
    def worker():
        try: build_once(tmp_path / "m", build, {"v": 1})
        except Exception as e: errors.append(e)
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not errors, errors
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["BUILD.json", "weights.bin"]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_build_once_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "mine").mkdir(); (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not written by build_once"):
        build_once(tmp_path / "mine", lambda d: None)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_offline_hub_id_error_is_clear():
    t0 = time.time()
    with pytest.raises(OSError) as e: load_causal_lm("rlaif-repro-test/this-model-does-not-exist", device="cpu")
    msg = str(e.value)
    assert "'rlaif-repro-test/this-model-does-not-exist'" in msg and "HF_HUB_OFFLINE=1" in msg
    assert "save_pretrained" in msg and "tiny:gpt2" in msg
    assert time.time() - t0 < 10                                                         # no network retries
    with pytest.raises(OSError, match="reward model|tokenizer"): load_reward_model("rlaif-repro-test/nope")


def test_local_folder_without_a_model_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(OSError, match="local folder .*empty"): load_causal_lm(tmp_path / "empty", device="cpu")


@pytest.mark.parametrize("name", ["tiny:gpt2", "tiny:llama"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_reward_padding_invariance(name, side):
    rm, tok = load_reward_model(name, device="cpu", padding_side=side)
    with torch.no_grad():
        alone = torch.stack([reward_scores(rm, **tok(t, return_tensors="pt"))[0] for t in TEXTS])
        batch = tok(TEXTS, return_tensors="pt", padding=True)
        assert (batch.attention_mask == 0).any()                                        # really padded
        padded = reward_scores(rm, **batch)
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=1e-4)
    assert alone.unique().numel() == len(TEXTS)                                        # a real signal, not a constant


def test_reward_model_saved_and_reloaded_keeps_its_head(tmp_path):
    rm, tok = load_reward_model("tiny:llama", device="cpu", lora=4)
    with torch.no_grad():
        for n, p in rm.named_parameters():
            if "lora_B" in n: p.normal_(0, 0.3)                                          # stand-in for training
        x = tok(TEXTS, return_tensors="pt", padding=True)
        before = reward_scores(rm, **x)
    rm.merge_and_unload().save_pretrained(tmp_path / "rm"); tok.save_pretrained(tmp_path / "rm")
    rm2, tok2 = load_reward_model(tmp_path / "rm", device="cpu")
    with torch.no_grad(): torch.testing.assert_close(reward_scores(rm2, **tok2(TEXTS, return_tensors="pt", padding=True)), before)


@pytest.mark.parametrize("name", ["tiny:gpt2", "tiny:llama"])
def test_value_model_is_causal_and_padding_free(name):
    vm, tok = load_value_model(name, device="cpu")
    ids = tok(TEXTS[0], return_tensors="pt").input_ids
    t, T = 5, ids.shape[1]
    g = torch.Generator().manual_seed(0)
    other = ids.clone(); other[0, t + 1:] = torch.randint(3, len(tok), (T - t - 1,), generator=g)   # new future tokens
    with torch.no_grad():
        v, v_other = token_values(vm, ids), token_values(vm, other)
        assert v.shape == (1, T)
        torch.testing.assert_close(v[:, :t + 1], v_other[:, :t + 1], atol=1e-5, rtol=1e-4)
        assert not torch.allclose(v[:, t + 1:], v_other[:, t + 1:])
        batch = tok(TEXTS, return_tensors="pt", padding=True)                             # left padded
        vb = token_values(vm, **batch)
        for i, text in enumerate(TEXTS):
            alone = token_values(vm, tok(text, return_tensors="pt").input_ids)[0]
            torch.testing.assert_close(vb[i, -len(alone):], alone, atol=1e-5, rtol=1e-4)
    assert torch.isfinite(vb).all()


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_lora_trainable_params_and_adapters_off_is_the_base(arch):
    base, tok = load_causal_lm(f"tiny:{arch}", device="cpu")
    x = tok(TEXTS, return_tensors="pt", padding=True)
    with torch.no_grad(): ref = base(**x).logits
    policy = apply_lora(base, r=4, alpha=8, dropout=0.0)
    trainable = [n for n, p in policy.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    # one optimiser step on the adapters moves the policy; with adapters off it is the base model again
    opt = torch.optim.SGD([p for p in policy.parameters() if p.requires_grad], lr=1.0)
    policy.train()
    out = policy(**x, labels=x.input_ids.masked_fill(x.attention_mask == 0, -100))
    out.loss.backward(); opt.step(); policy.eval()
    with torch.no_grad():
        adapted = policy(**x).logits
        with policy.disable_adapter(): off = policy(**x).logits
    assert not torch.allclose(adapted, ref, atol=1e-4)
    torch.testing.assert_close(off, ref, atol=1e-6, rtol=0)


def test_chat_tokenizer_pads_left_and_generates():
    model, tok = load_causal_lm("tiny:llama-chat", device="cpu")
    assert tok.padding_side == "left" and tok.chat_template
    prompts = [tok.apply_chat_template([{"role": "user", "content": c}], tokenize=False, add_generation_prompt=True)
               for c in ("Rate this summary from 1 to 10.", "Hi")]
    b = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.no_grad(): out = model.generate(**b, max_new_tokens=4, do_sample=False)
    assert out.shape[0] == 2 and out.shape[1] <= b.input_ids.shape[1] + 4


@pytest.mark.skipif(not HH_TEST.exists(), reason=f"real HH-RLHF sample not found at {HH_TEST} (absent in a fresh clone)")
def test_tiny_tokenizer_round_trips_real_hh_transcripts():
    tok = load_tokenizer("tiny:gpt2")
    with gzip.open(HH_TEST, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for _, line in zip(range(200), f)]
    texts = [r[k] for r in rows for k in ("chosen", "rejected")]
    for t in texts: assert tok.decode(tok.encode(t)) == t
    assert tok.unk_token_id is None or all(tok.unk_token_id not in tok.encode(t) for t in texts)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_auto_dtype_and_device_on_gpu():
    rm, tok = load_reward_model("tiny:llama")
    assert rm.device.type == "cuda" and rm.dtype in (torch.bfloat16, torch.float16)
    x = tok(TEXTS, return_tensors="pt", padding=True).to("cuda")
    with torch.no_grad(): r = reward_scores(rm, **x)
    assert r.shape == (len(TEXTS),) and torch.isfinite(r.float()).all()
