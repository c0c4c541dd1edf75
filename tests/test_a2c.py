"The A2C loop across processes: two torchrun processes with half the rollouts each match one process."
import json, os, shutil, subprocess, sys, textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent('''
    import copy, json, os, sys
    os.environ["RLAIF_REPRO_PROGRESS"] = "0"
    import torch
    from rlaif_repro.a2c import train_a2c
    from rlaif_repro.config import A2CConfig
    from rlaif_repro.core import set_seed
    from rlaif_repro.models import load_causal_lm, load_value_model
    out, value_init = sys.argv[1], sys.argv[2]
    set_seed(0)
    pol, tok = load_causal_lm("tiny:gpt2", device="cpu")
    val = None if value_init == "policy_head" else load_value_model("tiny:gpt2", device="cpu")[0]
    ref = copy.deepcopy(pol)
    def reward(prompts, responses, **kw): return [r.count("e") / max(1, len(r)) for r in responses]
    cfg = A2CConfig(batch_size=8, micro_batch_size=4, lr=3e-3, value_lr=3e-3, optimizer="adamw", max_new_tokens=6,
                    checkpoint_every=100, eval_every=100, value_init=value_init)
    prompts = [f"Post {i}: the weather today was" for i in range(16)]
    res = train_a2c(pol, val, tok, prompts, reward, cfg, out, ref_policy=ref, max_steps=3)
    if int(os.environ.get("RANK", "0")) == 0:
        w = {k: v.double().sum().item() for k, v in res.policy.state_dict().items()}
        w |= {"value." + k: v.double().sum().item() for k, v in res.value_model.state_dict().items()}
        json.dump({"metrics": res.metrics, "weights": w}, open(os.path.join(out, "result.json"), "w"))
''')

@pytest.fixture
def env(tmp_path):
    e = dict(os.environ, RLAIF_REPRO_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1",
             RLAIF_REPRO_PROGRESS="0")
    e.pop("ACCELERATE_USE_CPU", None)
    return e

def run(cmd, env):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-4000:]

@pytest.mark.skipif(shutil.which("torchrun") is None and not Path(sys.executable).with_name("torchrun").exists(),
                    reason="torchrun not found")
@pytest.mark.parametrize("value_init", ["sft", "policy_head"])
def test_two_processes_match_one(tmp_path, env, value_init):
    script = tmp_path / "a2c_run.py"; script.write_text(SCRIPT)
    torchrun = str(Path(sys.executable).with_name("torchrun")) if Path(sys.executable).with_name("torchrun").exists() else "torchrun"
    run([sys.executable, str(script), str(tmp_path / "one"), value_init], env)
    run([torchrun, "--nproc_per_node", "2", "--master_port", "29517", str(script), str(tmp_path / "two"), value_init], env)
    one = json.loads((tmp_path / "one/result.json").read_text()); two = json.loads((tmp_path / "two/result.json").read_text())
    assert [r["step"] for r in one["metrics"]] == [r["step"] for r in two["metrics"]] == [1, 2, 3]
    for a, b in zip(one["metrics"], two["metrics"]):
        for k in ("reward/mean", "rl/kl", "rl/response_length", "rl/policy_loss", "rl/value_loss"):
            assert a[k] == pytest.approx(b[k], rel=1e-3, abs=1e-4), (a["step"], k, a[k], b[k])
    for k, v in one["weights"].items():
        assert v == pytest.approx(two["weights"][k], rel=1e-4, abs=1e-4), k

@pytest.mark.parametrize("algo", ["rloo", "grpo"])
def test_trl_trainers_accept_our_reward_functions(tmp_path, monkeypatch, algo):
    "Swap the algorithm: TRL's RLOO and GRPO trainers train a tiny policy on our reward model and d-RLAIF scorer"
    monkeypatch.setenv("RLAIF_REPRO_CACHE", str(tmp_path / "cache")); monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from datasets import Dataset
    from rlaif_repro.a2c import LabelerScoreReward, MixedReward, RewardModelReward
    from rlaif_repro.config import LabelerConfig
    from rlaif_repro.core import set_seed
    from rlaif_repro.labeler import Labeler
    from rlaif_repro.models import load_causal_lm, load_reward_model
    set_seed(0)
    policy, tok = load_causal_lm("tiny:gpt2", device="cpu")
    rm, rm_tok = load_reward_model("tiny:gpt2", device="cpu")
    lab_model, lab_tok = load_causal_lm("tiny:gpt2", device="cpu")
    rm_fn = RewardModelReward(rm, rm_tok, "tldr")
    d_rlaif = LabelerScoreReward(Labeler(lab_model.eval(), lab_tok, "tldr", LabelerConfig(batch_size=4)))
    mix = MixedReward([rm_fn, d_rlaif], [0.5, 0.5])
    posts = [f"My friend {i} keeps borrowing my bike without asking." for i in range(8)]
    data = Dataset.from_dict({"prompt": [f"POST: {p}\n\nTL;DR:" for p in posts], "context": posts})
    common = dict(output_dir=str(tmp_path / algo), per_device_train_batch_size=4, num_generations=2, max_completion_length=8,
                  max_steps=1, report_to="none", use_cpu=True, logging_steps=1, save_strategy="no", learning_rate=1e-4,
                  disable_tqdm=True)
    if algo == "rloo":
        from trl import RLOOConfig, RLOOTrainer
        trainer = RLOOTrainer(model=policy, reward_funcs=[rm_fn, d_rlaif, mix], args=RLOOConfig(**common),
                              train_dataset=data, processing_class=tok)
    else:
        from trl import GRPOConfig, GRPOTrainer
        trainer = GRPOTrainer(model=policy, reward_funcs=[rm_fn, d_rlaif, mix], args=GRPOConfig(**common),
                              train_dataset=data, processing_class=tok)
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    trainer.train()
    assert trainer.state.global_step == 1
    logged = trainer.state.log_history[0]
    for name in ("reward_model", "d_rlaif", "mix"):
        assert any(name in k for k in logged), (name, sorted(logged))
    assert any(not torch_equal(before[k], v) for k, v in trainer.model.state_dict().items() if k in before)

def torch_equal(a, b):
    import torch
    return torch.equal(a, b)
