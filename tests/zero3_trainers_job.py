"""One SFT or reward-model job for tests/test_deepspeed.py: `python zero3_trainers_job.py sft|rm OUT --model M`, alone or
under `accelerate launch --use_deepspeed --zero_stage 3`. Same model, data and global batch (8: micro-batches of 2) either way."""
import argparse, json
from pathlib import Path

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["sft", "rm"]); ap.add_argument("out"); ap.add_argument("--model", required=True)
    a = ap.parse_args()
    from rlaif_repro.config import RewardModelConfig, SFTConfig
    from rlaif_repro.core import is_main_process, process_rank, set_seed
    set_seed(0)   # the head of a new reward model is random: seeded, the same in every process and in both runs
    if a.kind == "sft":
        from rlaif_repro.models import load_causal_lm
        from rlaif_repro.sft import train_sft
        model, tok = load_causal_lm(a.model, device="cpu", padding_side="right")
        rows = [{"id": f"p{i}", "prompt": f"POST: story {i} about a bike\n\nTL;DR:", "reference": f" a bike story {i % 4}"} for i in range(40)]
        cfg = SFTConfig(batch_size=8, micro_batch_size=2, lr=1e-3, optimizer="adamw", epochs=1.0)
        res = train_sft(model, tok, rows[:32], cfg, a.out, eval_dataset=rows[32:], seed=0)
        after = res.eval_loss
    else:
        from rlaif_repro.models import load_reward_model
        from rlaif_repro.reward_model import train_reward_model
        model, tok = load_reward_model(a.model, device="cpu", padding_side="right")
        rows = [{"id": f"p{i}", "context": f"Human: question {i}?\n\nAssistant:", "response_1": "yes " * (i % 5 + 1),
                 "response_2": "no " * (i % 3 + 1), "p_1": (i % 7) / 7, "human_choice": i % 2} for i in range(32)]
        cfg = RewardModelConfig(batch_size=8, micro_batch_size=2, lr=1e-3, epochs=1.0, max_length=64, optimizer="adamw")
        res = train_reward_model(model, tok, rows, cfg, a.out, task="hh_harmless", eval_dataset=rows[:8], seed=0)
        after = res.eval_accuracy
    if is_main_process():
        Path(a.out, "summary.json").write_text(json.dumps({"world": process_rank()[1], "steps": res.steps, "after": after,
                                                           "losses": [r["loss"] for r in res.log_history if "loss" in r]}))

if __name__ == "__main__":
    main()
