"""Labeling throughput: the `Labeler` fast path against a naive baseline, same model, same pairs, one run.

Baseline: one `model.generate(max_new_tokens=1, output_scores=True)` call per pair and order, reading the
label-token log-probs from the returned scores (the straightforward way to implement the paper's labeler).
Fast path: `Labeler.label` (shared prompt prefixes computed once, per-pair context shared by both orders,
last-position logits only, length-sorted batches).

Model: a GPT-2-small-sized random-init model (12 layers, 768 wide, 12 heads) with the package's tiny byte-level
tokenizer; data: real HH-RLHF harmless pairs when ../shared is present (else the repository fixtures).

    python benchmarks/labeler_throughput.py [--pairs 16] [--variant base_2shot] [--out benchmarks/results/labeler_throughput.json]
"""
import argparse, json, os, platform, tempfile, time, warnings
from pathlib import Path

import numpy as np
import torch

from rlaif_repro.config import LabelerConfig
from rlaif_repro.core import save_json, set_seed
from rlaif_repro.data import load_task
from rlaif_repro.labeler import Labeler, label_token_ids
from rlaif_repro.models import build_tiny_model, load_causal_lm
from rlaif_repro.prompts import answer_to_p1, build_label_prompt

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared/data/hh-rlhf/harmless-base-test.jsonl.gz"
FIXTURE = ROOT / "tests/fixtures/hh/harmless-base-test.jsonl"

def naive_label(model, tok, task, variant, pairs):
    ones, twos = label_token_ids(tok, "1"), label_token_ids(tok, "2")
    out = []
    for c in pairs:
        ps = []
        for r1, r2 in ((c["response_1"], c["response_2"]), (c["response_2"], c["response_1"])):
            enc = tok(build_label_prompt(task, variant, c["context"], r1, r2), return_tensors="pt")
            g = model.generate(**enc, max_new_tokens=1, do_sample=False, output_scores=True, return_dict_in_generate=True,
                               pad_token_id=tok.pad_token_id)
            lp = torch.log_softmax(g.scores[0][0].float(), -1)
            ps.append(torch.softmax(torch.stack([torch.logsumexp(lp[ones], 0), torch.logsumexp(lp[twos], 0)]), 0)[0].item())
        out.append((answer_to_p1(ps[0], task, variant), answer_to_p1(1 - ps[1], task, variant)))
    return np.array(out)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=16)
    ap.add_argument("--variant", default="base_2shot")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/labeler_throughput.json"))
    a = ap.parse_args()
    set_seed(0)
    src = REAL if REAL.exists() else FIXTURE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = load_task("hh_harmless", "test", data_files=src, limit=a.pairs)["comparisons"].to_list()
    with tempfile.TemporaryDirectory() as d:
        path = build_tiny_model(Path(d) / "gpt2-small", arch="gpt2", n_layer=12, n_embd=768, n_head=12, max_positions=2048, seed=0)
        model, tok = load_causal_lm(str(path), device="cpu", dtype="float32")
        model.eval()
        n_params = sum(p.numel() for p in model.parameters())
        lab = Labeler(model, tok, "hh_harmless", LabelerConfig(variant=a.variant, batch_size=a.batch_size))
        with torch.no_grad():
            naive_label(model, tok, "hh_harmless", a.variant, pairs[:1]); lab.label(pairs[:1], desc=None)  # warm-up
            t0 = time.perf_counter(); ref = naive_label(model, tok, "hh_harmless", a.variant, pairs); t_naive = time.perf_counter() - t0
            t0 = time.perf_counter(); labels = lab.label(pairs, desc=None); t_fast = time.perf_counter() - t0
    fast = np.array([labels["p_1_fwd"], labels["p_1_rev"]]).T
    prompt_tokens = [len(tok.encode(build_label_prompt("hh_harmless", a.variant, c["context"], c["response_1"], c["response_2"]))) for c in pairs]
    res = {
        "benchmark": "labeler_throughput", "baseline": "generate(max_new_tokens=1, output_scores=True) per pair and order",
        "model": f"GPT-2 architecture, 12 layers x 768, random init, {n_params/1e6:.1f}M parameters, tiny byte-level BPE tokenizer",
        "data": f"{len(pairs)} HH-RLHF harmless-base test pairs from {src.name}", "task": "hh_harmless", "variant": a.variant,
        "mean_prompt_tokens": float(np.mean(prompt_tokens)), "batch_size": a.batch_size,
        "naive_seconds": t_naive, "fast_seconds": t_fast,
        "naive_pairs_per_s": len(pairs) / t_naive, "fast_pairs_per_s": len(pairs) / t_fast,
        "speedup": t_naive / t_fast, "max_abs_diff_p1": float(np.abs(fast - ref).max()),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine(),
    }
    save_json(res, a.out)
    print(json.dumps(res, indent=1))

if __name__ == "__main__":
    main()
