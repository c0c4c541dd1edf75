"""One RL job for tests/test_deepspeed.py: `python zero3_job.py OUT [--stop-after K] [--value-head]`, alone or under
`accelerate launch --use_deepspeed --zero_stage 3`. Same model, prompts, reward and global batch either way."""
import argparse, json
from pathlib import Path

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out"); ap.add_argument("--model", required=True)
    ap.add_argument("--stop-after", type=int, default=None); ap.add_argument("--value-head", action="store_true")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8); ap.add_argument("--micro", type=int, default=2)
    a = ap.parse_args()
    from rlaif_repro.a2c import new_accelerator, train_a2c
    from rlaif_repro.config import A2CConfig
    from rlaif_repro.core import set_seed
    from rlaif_repro.models import load_causal_lm, load_value_model
    set_seed(0)   # the models load whole in every process (as the pipeline loads them), then DeepSpeed shards them
    policy, tok = load_causal_lm(a.model, device="cpu")
    ref, _ = load_causal_lm(a.model, device="cpu")
    value = None if a.value_head else load_value_model(a.model, device="cpu")[0]
    acc = new_accelerator()
    prompts = [f"POST: story number {i} about a bike and a friend\n\nTL;DR:" for i in range(32)]
    reward = lambda p, r, **kw: [len(x) / 20 - x.count(" ") / 5 for x in r]
    cfg = A2CConfig(batch_size=a.batch, micro_batch_size=a.micro, lr=3e-4, value_lr=1e-3, optimizer="adamw", max_new_tokens=6, kl_coef=0.05,
                    checkpoint_every=1, eval_every=a.steps, grad_clip=0.5, value_init="policy_head" if a.value_head else "sft")
    res = train_a2c(policy, value, tok, prompts, reward, cfg, a.out, ref_policy=ref, eval_prompts=prompts[:6], max_steps=a.steps,
                    accelerator=acc, stop_after=a.stop_after)
    if acc.is_main_process:
        rows = [{k: r[k] for k in ("step", "rl/policy_loss", "rl/value_loss", "reward/mean")} for r in res.metrics if "rl/policy_loss" in r]
        Path(a.out, "summary.json").write_text(json.dumps({"world": acc.num_processes, "type": str(acc.distributed_type),
                                                            "steps": res.steps, "rows": rows}))

if __name__ == "__main__":
    main()
