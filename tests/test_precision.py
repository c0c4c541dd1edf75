"""Mixed precision, checked on a CPU: what trains is held in float32 (master weights) when a model loads in bf16 or fp16,
updates do not round away, the fp16 gradient scaler steps, and a trained model goes back to the dtype it was loaded in.

What a CPU cannot show: the trainers' fp16 path (transformers' Trainer autocasts fp16 on a GPU only, so on a CPU fp16
is refused with one line), CUDA's fused kernels and GradScaler("cuda"), and memory. Those need a GPU run of the colab
preset (fp16, a T4) and the single_gpu preset (bf16)."""
import copy, dataclasses, os
import pytest, torch

os.environ.setdefault("RLAIF_REPRO_PROGRESS", "0")
from transformers import TrainerCallback
from rlaif_repro.a2c import train_a2c
from rlaif_repro.config import A2CConfig, RewardModelConfig, SFTConfig
from rlaif_repro.core import set_seed
from rlaif_repro.models import load_causal_lm, load_reward_model, load_value_model
from rlaif_repro.reward_model import train_reward_model
from rlaif_repro.sft import train_sft

PROMPTS = [f"Post {i}: the weather today was" for i in range(16)]
def e_reward(prompts, responses, **kw): return [r.count("e") / max(1, len(r)) for r in responses]

def _a2c(dtype, lora:bool, out, fp32_master:bool):
    "Four A2C steps at the paper's learning rate from tiny:llama loaded in `dtype`; (weight updates, the trained policy, the run folder)"
    set_seed(0)
    pol, tok = load_causal_lm("tiny:llama", device="cpu", dtype=dtype, lora=4 if lora else None)
    val = load_value_model("tiny:llama", device="cpu", dtype=dtype, lora=4 if lora else None)[0]
    if fp32_master: pol, val = pol.float(), val.float()   # the reference run: the same (rounded) weights, all in float32
    ref = None if lora else copy.deepcopy(pol).requires_grad_(False)
    before = {n: p.detach().float().clone() for n, p in pol.named_parameters() if p.requires_grad}
    cfg = A2CConfig(batch_size=8, micro_batch_size=4, lr=1e-5, value_lr=1e-5, optimizer="adamw", max_new_tokens=6,
                    checkpoint_every=100, eval_every=100)
    res = train_a2c(pol, val, tok, PROMPTS, e_reward, cfg, out, ref_policy=ref, max_steps=4)
    now = dict(res.policy.named_parameters())
    return torch.cat([(now[n].detach().float() - b).flatten() for n, b in before.items()]), res.policy

@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_a2c_trains_float32_masters_in_mixed_precision(tmp_path, dtype, lora):
    ref, _ = _a2c(dtype, lora, tmp_path/"fp32", fp32_master=True)
    upd, policy = _a2c(dtype, lora, tmp_path/"mixed", fp32_master=False)
    assert {p.dtype for p in policy.parameters() if p.requires_grad} == {torch.float32}
    assert all(torch.isfinite(p).all() for p in policy.parameters())
    state = torch.load(next((tmp_path/"mixed"/"checkpoints").glob("step_*/optimizer.bin")), weights_only=False)["state"]
    assert {t.dtype for s in state.values() for k, t in s.items() if k in ("exp_avg", "exp_avg_sq")} == {torch.float32}
    changed, changed_ref = (upd != 0).float().mean().item(), (ref != 0).float().mean().item()
    assert changed >= 0.95 * changed_ref, (changed, changed_ref)   # in pure bf16, 27% of the weights moved against 79% in float32
    cos = torch.nn.functional.cosine_similarity(upd, ref, dim=0).item()
    if dtype == torch.bfloat16: assert cos > 0.98, cos   # the same updates up to bf16 arithmetic (measured: 0.998-0.999)
    else: assert cos > 0.3, cos   # fp16 skips the steps whose scaled gradients overflow (by design), so its path departs

def test_a2c_fp16_scaler_resumes_with_the_run(tmp_path):
    "The gradient scaler's scale is part of the checkpoint: a killed fp16 run resumes with it"
    _a2c(torch.float16, True, tmp_path/"run", fp32_master=False)
    ck = next((tmp_path/"run"/"checkpoints").glob("step_*"))
    assert any(p.name.startswith("custom_checkpoint") for p in ck.iterdir()), sorted(p.name for p in ck.iterdir())

class _Dtypes(TrainerCallback):
    "What the trainer holds while it trains: the dtypes of trainable weights and of the optimizer's moments, and the weights at the end"
    seen: dict = {}
    def on_step_end(self, args, state, control, model=None, optimizer=None, **kw):
        _Dtypes.seen = {"weights": {p.dtype for p in model.parameters() if p.requires_grad},
                        "moments": {t.dtype for s in optimizer.state.values() for k, t in s.items() if k.startswith("exp_avg")}}
    def on_train_end(self, args, state, control, model=None, **kw):
        _Dtypes.final = {n: p.detach().float().clone() for n, p in model.named_parameters() if p.requires_grad}

ROWS = [{"id": str(i), "context": f"Post {i}: my dog ate my shoes", "response_1": "Dog ate shoes.", "response_2": "Something happened.",
         "p_1": 0.8, "human_choice": 0, "confidence": 5, "task": "tldr"} for i in range(16)]

@pytest.mark.parametrize("label", ["p_1", "human_choice"], ids=["ai", "human"])
@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_reward_model_bf16_trains_float32_masters(tmp_path, lora, label):
    cfg = RewardModelConfig(batch_size=4, micro_batch_size=4, lr=1e-5, epochs=1.0, optimizer="adamw", use_lora=lora)
    model, tok = load_reward_model("tiny:llama", dtype=torch.bfloat16, device="cpu", padding_side="right")
    res = train_reward_model(model, tok, ROWS, cfg, tmp_path/"rm", task="tldr", label=label, resume=False, callbacks=[_Dtypes()])
    assert _Dtypes.seen == {"weights": {torch.float32}, "moments": {torch.float32}}
    assert {p.dtype for p in res.model.parameters()} == {torch.bfloat16}   # saved as loaded: the masters were for training
    assert res.eval_accuracy is not None

def test_sft_bf16_full_fine_tuning_keeps_its_updates(tmp_path):
    "Full fine-tuning at a small learning rate: the bf16-loaded model's float32 masters move as a float32 model does"
    cfg = SFTConfig(batch_size=4, micro_batch_size=4, lr=1e-5, optimizer="adamw", max_steps=2, eval_fraction=0.0)
    rows = [{"id": str(i), "prompt": f"Post {i}: my dog ate my shoes\nTL;DR:", "reference": " Dog ate shoes."} for i in range(8)]
    moved = {}
    for name, to32 in (("fp32", True), ("bf16", False)):
        set_seed(0)
        m, tok = load_causal_lm("tiny:llama", dtype=torch.bfloat16, device="cpu", padding_side="right")
        if to32: m = m.float()
        before = {n: p.detach().float().clone() for n, p in m.named_parameters()}
        res = train_sft(m, tok, rows, cfg, tmp_path/name, resume=False, callbacks=[_Dtypes()])
        assert _Dtypes.seen == {"weights": {torch.float32}, "moments": {torch.float32}}, (name, _Dtypes.seen)
        moved[name] = torch.cat([(_Dtypes.final[n] - b).flatten() for n, b in before.items()])
        assert {p.dtype for p in res.model.parameters()} == ({torch.float32} if to32 else {torch.bfloat16})   # saved as loaded
    assert (moved["bf16"] != 0).float().mean().item() >= 0.95 * (moved["fp32"] != 0).float().mean().item()
    assert torch.nn.functional.cosine_similarity(moved["bf16"], moved["fp32"], dim=0).item() > 0.98

def test_fp16_training_on_a_cpu_is_refused_in_one_line(tmp_path):
    model, tok = load_reward_model("tiny:llama", dtype=torch.float16, device="cpu", padding_side="right")
    cfg = dataclasses.replace(RewardModelConfig(batch_size=4, micro_batch_size=4, optimizer="adamw"), use_lora=True)
    with pytest.raises(ValueError, match="fp16 mixed precision trains on a GPU only"):
        train_reward_model(model, tok, ROWS, cfg, tmp_path/"rm", task="tldr", label="p_1", resume=False)

def test_fp16_reward_model_head_steps_under_the_gradient_scaler():
    "The T4 case: an fp16 LoRA reward model's adapters and head are float32 masters, so the scaler unscales and steps them"
    from rlaif_repro.models import master_weights
    model, tok = load_reward_model("tiny:llama", dtype=torch.float16, device="cpu", padding_side="right", lora=4)
    test_dt = master_weights(model)   # what the trainers call: nothing left to cast, the compute dtype comes back
    assert test_dt == torch.float16 and {p.dtype for p in model.parameters() if p.requires_grad} == {torch.float32}
    head = [p for n, p in model.named_parameters() if p.requires_grad and "score" in n]
    assert head, "the reward head trains"
    before = [p.detach().clone() for p in head]
    opt, scaler = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3), torch.amp.GradScaler("cpu", init_scale=2.0**8)
    batch = tok(["Post: my dog ate my shoes. Summary: dog ate shoes.", "Post: my dog ate my shoes. Summary: help."], return_tensors="pt", padding=True)
    with torch.autocast("cpu", dtype=torch.float16):
        r = model(**batch).logits[:, 0]
    scaler.scale(-(r[0] - r[1])).backward()
    scaler.unscale_(opt)   # raises "Attempting to unscale FP16 gradients" when the head is fp16
    scaler.step(opt); scaler.update()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(b, p) for b, p in zip(before, head))
