"""RL training throughput and peak memory: our `train_a2c` against TRL's `RLOOTrainer`, same model, reward and batch.

Baseline: TRL's `RLOOTrainer` (REINFORCE leave-one-out, no value model; 2 generations per prompt, its minimum)
with a KL penalty to the reference (beta = 0.05), so it runs a reference forward like ours.
Ours: `rlaif_repro.a2c.train_a2c` (beta = 0.05, frozen reference) in two forms, each measured:
  - `ours`: the paper's critic, a separate value model initialised from the policy (`value_init='sft'`, the default);
  - `ours_head`: a linear value head on the policy's detached last hidden state (`value_init='policy_head'`).

Both sample `--rollouts` responses per optimizer step (RLOO: rollouts / 2 prompts x 2 generations) of at most
`--max-new-tokens` tokens at temperature 0.9 from the same random-init GPT-2 (tiny tokenizer, `--layers` x
`--width`), scored by the same reward function (a reward model of the same size), AdamW, lr 1e-5, for `--steps`
optimizer steps. Throughput = generated tokens (EOS included) per second of wall time of the whole training call
(sampling, scoring and update). Each measurement runs in a fresh subprocess (peak memory = its own: CUDA
`max_memory_allocated` or the process's peak RSS), the three kinds in a rotating order; medians over `--repeats`.

    python benchmarks/a2c_vs_rloo.py [--rollouts 16] [--steps 4] [--max-new-tokens 24] [--repeats 2] [--threads 1] \
        [--out benchmarks/results/a2c_vs_rloo.json]
"""
import argparse, copy, json, os, platform, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("rloo", "ours", "ours_head")

def worker(kind, model_dir, rm_dir, a):
    import torch
    from datasets import Dataset
    from rlaif_repro.a2c import RewardModelReward, train_a2c
    from rlaif_repro.config import A2CConfig
    from rlaif_repro.core import set_seed
    from rlaif_repro.models import load_causal_lm, load_reward_model, load_value_model
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    set_seed(0)
    policy, tok = load_causal_lm(model_dir, device=dev)
    rm, rm_tok = load_reward_model(rm_dir, device=dev)
    reward = RewardModelReward(rm, rm_tok, "tldr")
    prompts = [f"POST: my friend number {i} keeps borrowing my bike without asking\n\nTL;DR:" for i in range(a.rollouts * a.steps)]
    tokens = 0
    if dev == "cuda": torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as d:
        if kind in ("ours", "ours_head"):
            head = kind == "ours_head"
            value = None if head else load_value_model(model_dir, device=dev)[0]
            ref = copy.deepcopy(policy).eval()
            cfg = A2CConfig(batch_size=a.rollouts, micro_batch_size=a.rollouts, lr=1e-5, value_lr=1e-5, optimizer="adamw",
                            max_new_tokens=a.max_new_tokens, kl_coef=0.05, checkpoint_every=10_000, eval_every=10_000,
                            value_init="policy_head" if head else "sft")
            t0 = time.perf_counter()
            res = train_a2c(policy, value, tok, prompts, reward, cfg, d, ref_policy=ref, max_steps=a.steps)
            secs = time.perf_counter() - t0
            tokens = sum(r["rl/response_length"] * a.rollouts for r in res.metrics if "rl/kl" in r)
        else:
            from trl import RLOOConfig, RLOOTrainer
            from transformers.trainer_callback import PrinterCallback
            data = Dataset.from_dict({"prompt": prompts[:a.rollouts // 2 * a.steps]})
            args = RLOOConfig(output_dir=d, per_device_train_batch_size=a.rollouts, num_generations=2,
                              max_completion_length=a.max_new_tokens, temperature=0.9, top_k=0, top_p=1.0, beta=0.05,
                              learning_rate=1e-5, max_steps=a.steps, report_to="none", use_cpu=dev == "cpu",
                              logging_steps=1, save_strategy="no", disable_tqdm=True, bf16=False)
            trainer = RLOOTrainer(model=policy, reward_funcs=[reward], args=args, train_dataset=data, processing_class=tok)
            trainer.remove_callback(PrinterCallback)
            t0 = time.perf_counter()
            trainer.train()
            secs = time.perf_counter() - t0
            lens = [h["completions/mean_length"] for h in trainer.state.log_history if "completions/mean_length" in h]
            tokens = sum(lens) * a.rollouts
    peak = torch.cuda.max_memory_allocated() if dev == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(dict(kind=kind, seconds=secs, tokens=tokens, tokens_per_s=tokens / secs, peak_bytes=peak, device=dev)))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rollouts", type=int, default=16, help="responses per optimizer step")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--threads", type=int, default=0, help="OMP_NUM_THREADS of the workers (0: leave as is)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/a2c_vs_rloo.json"))
    ap.add_argument("--worker", choices=list(KINDS), help=argparse.SUPPRESS)
    ap.add_argument("--model-dir", help=argparse.SUPPRESS)
    ap.add_argument("--rm-dir", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker: return worker(a.worker, a.model_dir, a.rm_dir, a)
    from rlaif_repro.core import save_json
    from rlaif_repro.models import build_tiny_model
    env = dict(os.environ, RLAIF_REPRO_PROGRESS="0", HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    if a.threads: env["OMP_NUM_THREADS"] = str(a.threads)
    runs = {k: [] for k in KINDS}
    with tempfile.TemporaryDirectory() as d:
        build_tiny_model(Path(d) / "m", n_layer=a.layers, n_embd=a.width, n_head=max(1, a.width // 64))
        build_tiny_model(Path(d) / "rm", n_layer=a.layers, n_embd=a.width, n_head=max(1, a.width // 64), seed=1)
        order = [KINDS[(i + j) % len(KINDS)] for i in range(a.repeats) for j in range(len(KINDS))]   # rotate who goes first
        for kind in order:
            cmd = [sys.executable, __file__, "--worker", kind, "--model-dir", str(Path(d) / "m"), "--rm-dir", str(Path(d) / "rm"),
                   "--rollouts", str(a.rollouts), "--steps", str(a.steps), "--max-new-tokens", str(a.max_new_tokens)]
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if p.returncode: sys.exit(f"{kind} worker failed:\n{p.stderr[-3000:]}")
            r = json.loads(p.stdout.strip().splitlines()[-1]); runs[kind].append(r)
            print(f"{kind:9s} {r['tokens_per_s']:8.1f} tokens/s  peak {r['peak_bytes'] / 2**20:8.1f} MiB  ({r['tokens']:.0f} tokens in {r['seconds']:.1f}s)", flush=True)
    med = {k: statistics.median(r["tokens_per_s"] for r in v) for k, v in runs.items()}
    peak = {k: statistics.median(r["peak_bytes"] for r in v) for k, v in runs.items()}
    res = dict(benchmark="a2c_vs_rloo", baseline="trl.RLOOTrainer (2 generations per prompt, beta 0.05)",
               ours="rlaif_repro.a2c.train_a2c, the paper's critic: policy + separate value model + reference",
               ours_head="rlaif_repro.a2c.train_a2c with value_init='policy_head': policy with a linear value head + reference",
               command="python benchmarks/a2c_vs_rloo.py " + " ".join(sys.argv[1:]),
               settings=vars(a) | {"worker": None}, device=runs["ours"][0]["device"], machine=platform.machine(), cpus=os.cpu_count(),
               tokens_per_s=med, peak_bytes=peak, throughput_ratio_ours_over_rloo=med["ours"] / med["rloo"],
               memory_ratio_rloo_over_ours=peak["rloo"] / peak["ours"],
               throughput_ratio_ours_head_over_rloo=med["ours_head"] / med["rloo"],
               memory_ratio_rloo_over_ours_head=peak["rloo"] / peak["ours_head"], runs=runs)
    save_json(res, a.out)
    print(f"throughput ratio ours/RLOO = {res['throughput_ratio_ours_over_rloo']:.3f}, ours_head/RLOO = "
          f"{res['throughput_ratio_ours_head_over_rloo']:.3f}; peak-memory ratio RLOO/ours = {res['memory_ratio_rloo_over_ours']:.3f}, "
          f"RLOO/ours_head = {res['memory_ratio_rloo_over_ours_head']:.3f}  -> {a.out}")

if __name__ == "__main__":
    main()
