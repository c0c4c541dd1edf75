"""Labeling throughput: vLLM (`LabelerConfig.backend='vllm'`) against our transformers fast path, same model, same pairs, one run.

Runs in the vLLM environment (`bash tools/test_vllm.sh` builds it):

    .venv-vllm/bin/python benchmarks/labeler_vllm.py [--pairs 32] [--out benchmarks/results/labeler_vllm.json]

Model: a random-init stand-in of Qwen2.5-Instruct's architecture (Qwen2ForCausalLM, ChatML template), 8 layers,
512 wide, 16 query heads sharing 4 key/value heads (about 30M parameters), in fp32. Pairs: real HH-RLHF harmless
pairs (../shared, else the repository fixture). Two scenarios: the paper's harmless prompt `base_2shot` (label
log-probs only: prefill-bound), and `base_cot_0shot` with 32-token rationales (generation, then label log-probs).
Engine start-up is timed apart from labeling: it is paid once per model and process. `pairs_per_s` counts
labeling only; `ratio_vllm_over_hf` > 1 means vLLM labels faster. Both backends give the same labels (checked).
"""
import argparse, json, os, platform, tempfile, time, warnings
from pathlib import Path

os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
import numpy as np
import torch

from rlaif_repro.config import LabelerConfig
from rlaif_repro.core import save_json
from rlaif_repro.data import load_task
from rlaif_repro.labeler import Labeler
from rlaif_repro.models import build_stand_in

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared/data/hh-rlhf/harmless-base-test.jsonl.gz"
FIXTURE = ROOT / "tests/fixtures/hh/harmless-base-test.jsonl"

def run(labeler, pairs):
    t0 = time.perf_counter(); out = labeler.label(pairs, desc=None); return out, time.perf_counter() - t0

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8, help="pairs per batch (both backends)")
    ap.add_argument("--out", default=str(ROOT/"benchmarks/results/labeler_vllm.json"))
    a = ap.parse_args()
    import vllm
    warnings.filterwarnings("ignore")
    src = REAL if REAL.exists() else FIXTURE
    pairs = load_task("hh_harmless", "test", data_files=str(src), limit=a.pairs)["comparisons"]
    model = build_stand_in("Qwen/Qwen2.5-0.5B-Instruct", Path(tempfile.mkdtemp())/"m", n_layer=8, n_embd=512, n_head=16, n_kv_head=4)
    results = {}
    for variant, cot_tokens in (("base_2shot", 0), ("base_cot_0shot", 32)):
        cfg = dict(variant=variant, batch_size=a.batch_size, cot_max_new_tokens=max(cot_tokens, 1))
        t0 = time.perf_counter()
        hf = Labeler.from_pretrained(str(model), "hh_harmless", LabelerConfig(**cfg), device="cpu", dtype="float32")
        hf_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        vl = Labeler.from_pretrained(str(model), "hh_harmless", LabelerConfig(backend="vllm", **cfg), dtype="float32",
                                     kv_cache_memory_bytes=2**30, max_model_len=4096, seed=0)
        vl_load = time.perf_counter() - t0
        a_out, t_hf = run(hf, pairs)
        b_out, t_vl = run(vl, pairs)
        gap = float(np.max(np.abs(np.array(a_out["p_1"]) - np.array(b_out["p_1"]))))
        results[variant] = {"pairs": pairs.num_rows, "hf_seconds": round(t_hf, 2), "vllm_seconds": round(t_vl, 2),
                            "hf_pairs_per_s": round(pairs.num_rows / t_hf, 3), "vllm_pairs_per_s": round(pairs.num_rows / t_vl, 3),
                            "ratio_vllm_over_hf": round(t_hf / t_vl, 3), "hf_load_seconds": round(hf_load, 1),
                            "vllm_load_seconds": round(vl_load, 1), "max_abs_p1_difference": gap}
        print(variant, results[variant], flush=True)
    save_json({"benchmark": "labeler_vllm", "command": "python benchmarks/labeler_vllm.py " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(a).items() if k != "out"),
               "baseline": "Labeler fast path on transformers (prefix-shared KV caches, last-position logits)",
               "model": "Qwen2ForCausalLM stand-in, 8 layers x 512, 16/4 heads, fp32", "data": str(src.name),
               "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__, "vllm": vllm.__version__,
                           "torch_threads": torch.get_num_threads()},
               "results": results}, a.out)
    print(f"wrote {a.out}")

if __name__ == "__main__": main()
