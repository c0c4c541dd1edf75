"""RL with and without activation checkpointing (`rl.gradient_checkpointing`): peak memory and time, same run.

Baseline: `train_a2c` as it runs by default, keeping every activation for the backward pass.
Measured: the same call with `rl.gradient_checkpointing=True` (the paper preset's setting), which keeps only each
block's input and recomputes the block in the backward pass, for the policy and the paper's separate critic.

Both train a random GPT-2 (tiny tokenizer, `--layers` x `--width`) with a separate value model and a frozen
reference, on `--rollouts` rollouts per optimizer step whose prompts are about `--prompt-tokens` tokens long (long
sequences are where activations dominate memory), for `--steps` steps, same seed. Each measurement runs in a fresh
subprocess: peak memory is CUDA `max_memory_allocated`, or on a CPU the rise of the process's peak RSS over its RSS
once the models are loaded. The two kinds alternate in a rotating order; medians over `--repeats`. The script also
checks that both kinds log the same losses (checkpointing changes memory and time, never the numbers).

    python benchmarks/activation_checkpointing.py [--rollouts 8] [--steps 3] [--prompt-tokens 480] [--repeats 3] \
        [--threads 1] [--out benchmarks/results/activation_checkpointing.json]
"""
import argparse, copy, json, os, platform, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("baseline", "checkpointed")

def _rss()->int:
    with open("/proc/self/statm") as f: return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

def worker(kind, model_dir, a):
    import torch
    from rlaif_repro.a2c import train_a2c
    from rlaif_repro.config import A2CConfig
    from rlaif_repro.core import set_seed
    from rlaif_repro.models import load_causal_lm, load_value_model
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    set_seed(0)
    policy, tok = load_causal_lm(model_dir, device=dev)
    value, _ = load_value_model(model_dir, device=dev)
    ref = copy.deepcopy(policy).eval()
    words = "my neighbour keeps parking in front of my garage and I cannot get my car out in the morning".split()
    body = " ".join(words[i % len(words)] for i in range(a.prompt_tokens))
    prompts = [f"POST: {i} {body}\n\nTL;DR:" for i in range(a.rollouts * a.steps)]
    reward = lambda p, r, **kw: [len(x.split()) / 10 for x in r]
    cfg = A2CConfig(batch_size=a.rollouts, micro_batch_size=a.rollouts, lr=1e-5, value_lr=1e-5, optimizer="adamw",
                    max_new_tokens=a.max_new_tokens, kl_coef=0.05, checkpoint_every=10_000, eval_every=10_000,
                    gradient_checkpointing=kind == "checkpointed")
    if dev == "cuda": torch.cuda.reset_peak_memory_stats()
    start = _rss()
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        res = train_a2c(policy, value, tok, prompts, reward, cfg, d, ref_policy=ref, max_steps=a.steps,
                        max_prompt_tokens=a.prompt_tokens + 16)
        secs = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() if dev == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - start
    losses = [r["rl/policy_loss"] for r in res.metrics if "rl/policy_loss" in r]
    print(json.dumps(dict(kind=kind, seconds=secs, peak_bytes=peak, losses=losses, device=dev)))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rollouts", type=int, default=8, help="responses per optimizer step (one micro-batch)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--prompt-tokens", type=int, default=480)
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--threads", type=int, default=0, help="OMP_NUM_THREADS of the workers (0: leave as is)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/activation_checkpointing.json"))
    ap.add_argument("--worker", choices=list(KINDS), help=argparse.SUPPRESS)
    ap.add_argument("--model-dir", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker: return worker(a.worker, a.model_dir, a)
    from rlaif_repro.core import save_json
    from rlaif_repro.models import build_tiny_model
    env = dict(os.environ, RLAIF_REPRO_PROGRESS="0", HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    if a.threads: env["OMP_NUM_THREADS"] = str(a.threads)
    runs = {k: [] for k in KINDS}
    with tempfile.TemporaryDirectory() as d:
        build_tiny_model(Path(d) / "m", n_layer=a.layers, n_embd=a.width, n_head=max(1, a.width // 64), max_positions=1024)
        order = [KINDS[(i + j) % len(KINDS)] for i in range(a.repeats) for j in range(len(KINDS))]
        for kind in order:
            cmd = [sys.executable, __file__, "--worker", kind, "--model-dir", str(Path(d) / "m"), "--rollouts", str(a.rollouts),
                   "--steps", str(a.steps), "--prompt-tokens", str(a.prompt_tokens), "--max-new-tokens", str(a.max_new_tokens)]
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if p.returncode: sys.exit(f"{kind} worker failed:\n{p.stderr[-3000:]}")
            r = json.loads(p.stdout.strip().splitlines()[-1]); runs[kind].append(r)
            print(f"{kind:13s} peak +{r['peak_bytes'] / 2**20:8.1f} MiB  {r['seconds']:6.1f} s", flush=True)
    same = all(abs(x - y) < 1e-4 for x, y in zip(runs["baseline"][0]["losses"], runs["checkpointed"][0]["losses"]))
    peak = {k: statistics.median(r["peak_bytes"] for r in v) for k, v in runs.items()}
    secs = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    res = dict(benchmark="activation_checkpointing", baseline="train_a2c, every activation kept (rl.gradient_checkpointing=False)",
               measured="train_a2c with rl.gradient_checkpointing=True (policy and separate critic)",
               command="python benchmarks/activation_checkpointing.py " + " ".join(sys.argv[1:]),
               settings=vars(a) | {"worker": None}, device=runs["baseline"][0]["device"], machine=platform.machine(), cpus=os.cpu_count(),
               peak_bytes=peak, seconds=secs, memory_ratio_checkpointed_over_baseline=peak["checkpointed"] / peak["baseline"],
               time_ratio_checkpointed_over_baseline=secs["checkpointed"] / secs["baseline"], same_losses=same, runs=runs)
    save_json(res, a.out)
    print(f"peak memory checkpointed/baseline = {res['memory_ratio_checkpointed_over_baseline']:.3f}; time checkpointed/baseline = "
          f"{res['time_ratio_checkpointed_over_baseline']:.3f}; same losses: {same}  -> {a.out}")

if __name__ == "__main__":
    main()
