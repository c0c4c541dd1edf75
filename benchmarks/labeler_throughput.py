"""Labeling throughput: the `Labeler` fast path against a naive baseline, same model, same pairs, one run.

Baseline: one `model.generate(max_new_tokens=1, output_scores=True)` call per pair and order, reading the
label-token log-probs from the returned scores (the straightforward way to implement the paper's labeler).
Fast path: `Labeler.label` (shared prompt prefixes computed once, per-pair context shared by both orders,
last-position logits only, length-sorted batches, key/value caches written in place into buffers allocated once).

Model: a GPT-2-small-sized random-init model (12 layers, 768 wide, 12 heads) with the package's tiny byte-level
tokenizer. Two scenarios in the same run: real HH-RLHF harmless pairs (../shared, else the repository fixture)
with the paper's harmless prompt `base_2shot`, and the TL;DR comparisons fixture (10 pairs, repeated
`--tldr-repeats` times so the once-per-run prefix is amortised as in a real run) with `detailed_2shot`.
`token_ratio_naive_over_fast` is the ratio of tokens each path pushes through the model: on a compute-bound
CPU it bounds the speedup from sharing.

`--threads N` sets torch's intra-op threads for the whole run, so both paths are timed under the same setting
(the JSON records it); on a shared machine `--threads 1` gives the steadiest numbers.

    python benchmarks/labeler_throughput.py [--pairs 16] [--tldr-repeats 4] [--batch-size 8] [--threads N] [--out benchmarks/results/labeler_throughput.json]
"""
import argparse, json, os, platform, tempfile, time, warnings
from pathlib import Path

import numpy as np
import torch

from rlaif_repro.config import LabelerConfig
from rlaif_repro.core import save_json, set_seed
from rlaif_repro.data import load_task
from rlaif_repro.labeler import Labeler, label_token_ids
from rlaif_repro.prefix_cache import _lcp as lab_lcp
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

def tldr_pairs(repeats:int=1):
    "TL;DR comparisons from the repository fixture (OpenAI's comparisons format), all splits, `repeats` times"
    f = ROOT / "tests/fixtures/tldr/comparisons_batch.jsonl"
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for split in ("train", "validation", "test"):
            rows += load_task("tldr", split, data_files={"comparisons": str(f)})["comparisons"].to_list()
    return [r | {"id": f"{r['id']}#{k}"} for k in range(repeats) for r in rows]

def scenario(model, tok, task, variant, pairs, batch_size):
    lab = Labeler(model, tok, task, LabelerConfig(variant=variant, batch_size=batch_size))
    with torch.no_grad():
        naive_label(model, tok, task, variant, pairs[:1]); lab.label(pairs[:1], desc=None)      # warm-up
        t0 = time.perf_counter(); ref = naive_label(model, tok, task, variant, pairs); t_naive = time.perf_counter() - t0
        t0 = time.perf_counter(); labels = Labeler(model, tok, task, LabelerConfig(variant=variant, batch_size=batch_size)).label(pairs, desc=None)
        t_fast = time.perf_counter() - t0
    fast = np.array([labels["p_1_fwd"], labels["p_1_rev"]]).T
    seqs = [tok.encode(build_label_prompt(task, variant, c["context"], a, b)) for c in pairs
            for a, b in ((c["response_1"], c["response_2"]), (c["response_2"], c["response_1"]))]
    P = min(lab_lcp(seqs), min(map(len, seqs)) - 1)
    per_pair = [lab_lcp(seqs[i:i + 2]) for i in range(0, len(seqs), 2)]
    # tokens the fast path runs: the shared prefix once, then per pair the context once and each order's remainder
    fast_tokens = P + sum(len(seqs[i]) + len(seqs[i + 1]) - P - per_pair[i // 2] for i in range(0, len(seqs), 2))
    return {"task": task, "variant": variant, "pairs": len(pairs), "mean_prompt_tokens": float(np.mean(list(map(len, seqs)))),
            "shared_prefix_tokens": P, "naive_seconds": t_naive, "fast_seconds": t_fast,
            "naive_pairs_per_s": len(pairs) / t_naive, "fast_pairs_per_s": len(pairs) / t_fast,
            "speedup": t_naive / t_fast, "token_ratio_naive_over_fast": sum(map(len, seqs)) / fast_tokens,
            "max_abs_diff_p1": float(np.abs(fast - ref).max())}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=16, help="HH pairs (the TL;DR fixture has its own small set)")
    ap.add_argument("--tldr-repeats", type=int, default=4, help="repeat the 10-pair TL;DR fixture (a run labels thousands of pairs, "
                    "so the once-per-run prefix should be amortised over more than 10)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads for both paths (default: torch's own choice)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/labeler_throughput.json"))
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    set_seed(0)
    src = REAL if REAL.exists() else FIXTURE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hh = load_task("hh_harmless", "test", data_files=src, limit=a.pairs)["comparisons"].to_list()
    with tempfile.TemporaryDirectory() as d:
        path = build_tiny_model(Path(d) / "gpt2-small", arch="gpt2", n_layer=12, n_embd=768, n_head=12, max_positions=2048, seed=0)
        model, tok = load_causal_lm(str(path), device="cpu", dtype="float32")
        model.eval()
        n_params = sum(p.numel() for p in model.parameters())
        runs = [scenario(model, tok, "hh_harmless", "base_2shot", hh, a.batch_size) | {"data": f"HH-RLHF harmless-base test ({src.name})"},
                scenario(model, tok, "tldr", "detailed_2shot", tldr_pairs(a.tldr_repeats), a.batch_size)
                | {"data": f"TL;DR comparisons fixture (OpenAI format), its 10 pairs x {a.tldr_repeats}"}]
    res = {"benchmark": "labeler_throughput",
           "baseline": "generate(max_new_tokens=1, output_scores=True) once per pair and order",
           "model": f"GPT-2 architecture, 12 layers x 768, random init, {n_params/1e6:.1f}M parameters, tiny byte-level BPE tokenizer",
           "batch_size": a.batch_size, "scenarios": runs,
           "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine()}
    save_json(res, a.out)
    print(json.dumps(res, indent=1))

if __name__ == "__main__":
    main()
