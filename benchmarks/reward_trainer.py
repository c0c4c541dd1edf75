"""Reward-model training throughput and peak memory: our soft-label trainer against TRL's `RewardTrainer`.

Baseline: TRL's stock `RewardTrainer` (Bradley-Terry loss on chosen/rejected ids).
Ours: `rlaif_repro.reward_model.SoftLabelRewardTrainer` (the paper's soft-label loss on response_1/response_2
ids plus a `p_1` column), built by the same `trl_reward_args`.

Same model (a random-init GPT-2 with the package's tiny tokenizer, 4 layers, 256 wide unless told otherwise),
same planted pairs, same token ids (TRL's chosen side is the better response; ours is response_1 with its soft
label), same batch size, optimizer and epochs. Each measurement runs in a fresh subprocess so that its peak
memory (GPU: `torch.cuda.max_memory_allocated`; CPU: the process's peak resident set) is its own; the two
trainers alternate (TRL, ours, ours, TRL, ...) so drift on a noisy machine hits both alike. Throughput is pairs
per second of `trainer.train()` wall time; the reported figure is the median over repeats.

    python benchmarks/reward_trainer.py [--pairs 512] [--repeats 2] [--batch-size 16] [--layers 4] [--width 256] \
        [--threads 0] [--out benchmarks/results/reward_trainer.json]
"""
import argparse, json, os, platform, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def worker(kind, model_dir, pairs, batch_size, epochs):
    import torch
    from rlaif_repro.config import RewardModelConfig
    from rlaif_repro.core import set_seed
    from rlaif_repro.models import load_reward_model
    from rlaif_repro.reward_model import (planted_pairs, pair_dataset, trl_reward_args, SoftLabelRewardTrainer,
                                          soft_label_collator)
    from trl import RewardTrainer
    from transformers.trainer_callback import PrinterCallback
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    set_seed(0)
    model, tok = load_reward_model(model_dir, device=dev, padding_side="right")
    rows = planted_pairs(pairs, seed=0)
    ours = pair_dataset(rows, tok, "tldr", "p_1", max_length=128)
    cfg = RewardModelConfig(epochs=epochs, lr=1e-4, batch_size=batch_size, micro_batch_size=batch_size, optimizer="adamw", max_length=128)
    with tempfile.TemporaryDirectory() as d:
        args = trl_reward_args(cfg, d, save_strategy="no", logging_steps=10_000, disable_tqdm=True, use_cpu=dev == "cpu")
        if kind == "trl":
            # the chosen side is the better response, as TRL expects
            first = [c == 0 for c in rows["human_choice"]]
            data = ours.map(lambda r, i: {"chosen_ids": r["chosen_ids"] if first[i] else r["rejected_ids"],
                                          "rejected_ids": r["rejected_ids"] if first[i] else r["chosen_ids"]},
                            with_indices=True, remove_columns=["p_1"])
            trainer = RewardTrainer(model=model, args=args, train_dataset=data, processing_class=tok)
        else:
            trainer = SoftLabelRewardTrainer(model=model, args=args, train_dataset=ours, processing_class=tok,
                                             data_collator=soft_label_collator(tok.pad_token_id))
        trainer.remove_callback(PrinterCallback)
        if dev == "cuda": torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        out = trainer.train()
        secs = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() if dev == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    n_pairs = len(ours) * epochs
    print(json.dumps(dict(kind=kind, seconds=secs, pairs=n_pairs, pairs_per_s=n_pairs / secs, peak_bytes=peak,
                          train_loss=out.training_loss, device=dev)))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=2, help="measurements per trainer (alternating order)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--threads", type=int, default=0, help="OMP_NUM_THREADS of the workers (0: leave as is)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/reward_trainer.json"))
    ap.add_argument("--worker", choices=["trl", "ours"], help=argparse.SUPPRESS)
    ap.add_argument("--model-dir", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a.worker, a.model_dir, a.pairs, a.batch_size, a.epochs)
    from rlaif_repro.core import save_json
    from rlaif_repro.models import build_tiny_model
    env = dict(os.environ, RLAIF_REPRO_PROGRESS="0", HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    if a.threads: env["OMP_NUM_THREADS"] = str(a.threads)
    runs = {"trl": [], "ours": []}
    with tempfile.TemporaryDirectory() as d:
        build_tiny_model(Path(d) / "m", n_layer=a.layers, n_embd=a.width, n_head=max(1, a.width // 64))
        order = [k for i in range(a.repeats) for k in (("trl", "ours") if i % 2 == 0 else ("ours", "trl"))]
        for kind in order:
            cmd = [sys.executable, __file__, "--worker", kind, "--model-dir", str(Path(d) / "m"), "--pairs", str(a.pairs),
                   "--batch-size", str(a.batch_size), "--epochs", str(a.epochs)]
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if p.returncode: sys.exit(f"{kind} worker failed:\n{p.stderr[-3000:]}")
            r = json.loads(p.stdout.strip().splitlines()[-1]); runs[kind].append(r)
            print(f"{kind:4s} {r['pairs_per_s']:8.1f} pairs/s  peak {r['peak_bytes'] / 2**20:8.1f} MiB  loss {r['train_loss']:.4f}", flush=True)
    med = {k: statistics.median(r["pairs_per_s"] for r in v) for k, v in runs.items()}
    peak = {k: statistics.median(r["peak_bytes"] for r in v) for k, v in runs.items()}
    res = dict(benchmark="reward_trainer", baseline="trl.RewardTrainer (Bradley-Terry)",
               ours="rlaif_repro.reward_model.SoftLabelRewardTrainer (soft-label loss)",
               command="python benchmarks/reward_trainer.py " + " ".join(sys.argv[1:]),
               settings=dict(pairs=a.pairs, repeats=a.repeats, threads=a.threads, batch_size=a.batch_size, epochs=a.epochs, layers=a.layers, width=a.width),
               device=runs["ours"][0]["device"], machine=platform.machine(), cpus=os.cpu_count(),
               pairs_per_s=med, peak_bytes=peak,
               throughput_ratio_ours_over_trl=med["ours"] / med["trl"],
               memory_ratio_trl_over_ours=peak["trl"] / peak["ours"], runs=runs)
    save_json(res, a.out)
    print(f"throughput ratio ours/TRL = {res['throughput_ratio_ours_over_trl']:.3f}; "
          f"peak-memory ratio TRL/ours = {res['memory_ratio_trl_over_ours']:.3f}  -> {a.out}")

if __name__ == "__main__":
    main()
