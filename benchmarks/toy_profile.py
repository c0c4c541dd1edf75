"""Profile of the main job, `rlaif-repro reproduce --preset toy`, phase by phase, against a named baseline commit.

Each code version (the working tree, and `--baseline REF` checked out into a temporary git worktree) runs, one after
the other, in a fresh process with an empty cache, as a new user's first run would:
  1. the whole toy job (world build included), timed as a whole;
  2. the same command again (every stage cached: what a rerun costs);
  3. `reproduce --preset tiny` with the world cached, `rlaif-repro --version` and `rlaif-repro reproduce --help`.
From the run folder and the world cache it then reads the time of every world part (`build_info.json`), of every stage
(`DONE.json`), and inside each RL run of sampling, reward scoring, the A2C update and validation (`metrics.jsonl`,
`evals.json`; code older than those columns has none).

Beside the times it puts the job's arithmetic: a rough count of matrix-multiply FLOPs, 2·N per token through a model
of N parameters and 6·N per token trained, over the tokens each phase pushes through (counts read off the run: training
steps and batch sizes, labeled pairs and their token counts, RL steps, response lengths, validation sizes), and this
CPU's measured fp32 GEMM rate (1024² matrices, and the thin shapes the toy models use), so the distance to the physical
limit is on record. The count is an estimate, not a measurement: it leaves out attention scores, softmax and every
non-matrix op, and it counts the labeler's prompt tokens as billed (before the prefix cache shares them).

    python benchmarks/toy_profile.py --baseline 6d188ee --out benchmarks/results/toy_profile.json
    python benchmarks/toy_profile.py --only-current    # the working tree alone (no baseline)

Both versions run world seed 0 with seed 0. A faster code path may draw its random numbers in another order (RL
validation samples in larger batches, say); `same_seed_numbers` checks that every headline number (win rates, RM
accuracies, alignment by labeler size) of each version lies inside the other's 95% interval.

Times are wall seconds on this machine as it was during the run (the JSON records the machine and its load average);
compare versions only within one JSON file.
"""
import argparse, json, os, platform, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def gemm_rate(threads:int, n:int=1024, m:int|None=None, k:int|None=None, reps:int=20)->float:
    "GFLOP/s of an fp32 (n x k) @ (k x m) matmul with `threads` intra-op threads"
    import torch
    m, k = m or n, k or n
    old = torch.get_num_threads(); torch.set_num_threads(threads)
    try:
        a, b = torch.randn(n, k), torch.randn(k, m)
        for _ in range(3): a @ b
        t = time.perf_counter()
        for _ in range(reps): a @ b
        return 2 * n * m * k * reps / (time.perf_counter() - t) / 1e9
    finally: torch.set_num_threads(old)


def timed(cmd:list[str], env:dict, cwd:Path)->tuple[float, int, str]:
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t, p.returncode, (p.stderr or "")[-3000:]


def n_params(folder:Path)->int:
    from safetensors.numpy import load_file
    return sum(v.size for v in load_file(str(folder/"model.safetensors")).values())


def _done(run:Path, stage:str)->dict|None:
    fs = sorted((run/stage).glob("*/DONE.json"), key=lambda f: f.stat().st_mtime)
    return json.loads(fs[-1].read_text()) if fs else None


def _jsonl(f:Path)->list[dict]:
    return [json.loads(line) for line in f.read_text().splitlines() if line.strip()] if f.exists() else []


def _mean_tokens(tok, texts)->float:
    return sum(len(tok(t)["input_ids"]) for t in texts) / max(1, len(texts))


def collect(run:Path, world:Path)->dict:
    "Times of every world part, stage and RL phase, and the rough FLOP count of each"
    from transformers import AutoTokenizer
    cfg = json.loads((run/"config.json").read_text())
    tok = AutoTokenizer.from_pretrained(world/"tokenizer")
    parts = {p.name: json.loads((p/"build_info.json").read_text()) for p in sorted(world.iterdir()) if (p/"build_info.json").exists()}
    N = {p: n_params(world/p) for p in parts if (world/p/"model.safetensors").exists()}
    out = {"world_s": {p: b.get("seconds") for p, b in parts.items()}, "stages_s": {}, "rl_inside_s": {}, "gflop": {}, "params": N}
    # world: labelers trained on their judging corpus, the policy by SFT
    from rlaif_repro.toy.lms import TOY_MODELS, judging_corpus
    from rlaif_repro.toy.world import generate_posts
    for p, b in parts.items():
        if p.startswith("labeler"):
            pairs = judging_corpus(int(world.name.removeprefix("seed")), 400)
            L = _mean_tokens(tok, [a + b_ for a, b_ in pairs]) + 2
            tries = b.get("reliability", {}).get("attempts", 1)
            out["gflop"][f"world/{p}"] = 6 * N[p] * b["steps"] * TOY_MODELS[p]["batch_size"] * L * tries / 1e9
        elif p == "policy":
            posts = generate_posts(int(world.name.removeprefix("seed")), "train", 400)
            L = _mean_tokens(tok, [q.prompt + " " + q.reference for q in posts]) + 2
            out["gflop"]["world/policy"] = 6 * N[p] * b["steps"] * TOY_MODELS[p]["batch_size"] * L / 1e9
    posts = generate_posts(int(world.name.removeprefix("seed")), "validation", 200)
    P = _mean_tokens(tok, [q.prompt for q in posts])
    for stage_dir in sorted(d for d in run.iterdir() if d.is_dir()):
        done = _done(run, stage_dir.name)
        if done is None: continue
        s, res = stage_dir.name, done["result"]
        out["stages_s"][s] = done.get("seconds")
        lab = lambda name: N.get(name.split(":")[-1].split("@")[0], 0)
        if s.startswith("labels") and isinstance(res, dict) and "cost" in res:
            c = res["cost"]
            out["gflop"][s] = 2 * lab(res["labeler"]) * res["n"] * (c["input_tokens_per_example"] + c["output_tokens_per_example"]) / 1e9
        elif s.startswith("rm_"):
            rm = cfg["reward_model"]
            out["gflop"][s] = 6 * N["policy"] * rm["epochs"] * 4000 * 2 * (P + 15) / 1e9
        elif s.startswith("rl_"):
            folder = stage_dir/done["key"]
            m = next(folder.rglob("metrics.jsonl"), folder/"metrics.jsonl"); e = m.parent/"evals.json"
            rows, evals = _jsonl(m), (json.loads(e.read_text()) if e.exists() else [])
            train = [r for r in rows if "rl/response_length" in r]
            T = sum(r["rl/response_length"] for r in train) / max(1, len(train))
            B = cfg["rl"]["batch_size"]
            # sample (2N) + reference (2N) + policy fwd/bwd (6N) + value fwd/bwd (6N) + reward model (2N) per token
            per_tok = 18 * N["policy"]
            val = len(evals) * cfg["rl"]["eval_prompts"] * (P + T) * 4 * N["policy"]
            out["gflop"][s] = (len(train) * B * (P + T) * per_tok + val) / 1e9
            inside = {k: round(sum(r.get(f"time/{k}", 0) for r in train), 2) for k in ("sample", "reward", "update")}
            if any(inside.values()) or any("time/validation" in e for e in evals):
                inside["validation"] = round(sum(e.get("time/validation", 0) for e in evals), 2)
                out["rl_inside_s"][s] = inside
    out["headline"] = headline(run)
    out["gflop_total"] = round(sum(out["gflop"].values()), 1)
    out["gflop"] = {k: round(v, 1) for k, v in out["gflop"].items()}
    return out


def headline(run:Path)->dict:
    "The run's headline numbers, each `[value, ci_low, ci_high]`: win rates (not length-controlled), RM accuracies, alignment by labeler size"
    import csv
    rows = lambda stage, name: list(csv.DictReader(open(next((run/stage).glob(f"*/{name}")))))
    tri = lambda r, v: [round(float(r[k]), 4) for k in (v, "ci_low", "ci_high")]
    out = {f"win rate: {r['comparison']}": tri(r, "win_rate") for r in rows("eval", "win_rates.csv") if r["length_controlled"] in ("False", "0")}
    for s in sorted(d.name for d in run.glob("rm_*")):
        res = _done(run, s)["result"]
        out[f"RM accuracy: {s[3:]}"] = [round(res[k], 4) for k in ("accuracy", "ci_low", "ci_high")]
    out |= {f"alignment: labeler {r['size']}": tri(r, "alignment") for r in rows("studies", "labeler_size.csv")}
    return out


def agreement(b:dict, c:dict)->dict:
    "Per headline number of both runs: does each version's value lie inside the other's 95% CI?"
    out = {k: {"baseline": b[k], "current": c[k], "each inside the other's CI": b[k][1] <= c[k][0] <= b[k][2] and c[k][1] <= b[k][0] <= c[k][2]}
           for k in b if k in c}
    return {"all": all(v["each inside the other's CI"] for v in out.values()), "by_number": out}


def profile(code:Path, label:str, work:Path, threads_env:dict)->dict:
    "Run the toy job with the code in `code` (a checkout) in a fresh cache; returns its times and counts"
    cache, run = work/f"cache-{label}", work/f"run-{label}"
    env = dict(os.environ, RLAIF_REPRO_CACHE=str(cache), HF_HUB_OFFLINE="1", RLAIF_REPRO_PROGRESS="0",
               PYTHONPATH=str(code) + os.pathsep + os.environ.get("PYTHONPATH", ""), **threads_env)
    py = [sys.executable, "-m", "rlaif_repro"]
    rev = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", str(code), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip())
    res = {"code": rev + (" + working-tree changes" if dirty else ""), "load_before": os.getloadavg()[0], "wall_s": {}}
    for name, cmd in (("toy_job", py + ["reproduce", "--preset", "toy", "--out", str(run)]),
                      ("toy_job_cached", py + ["reproduce", "--preset", "toy", "--out", str(run)]),
                      ("tiny_world_cached", py + ["reproduce", "--preset", "tiny", "--out", str(work/f"tiny-{label}")]),
                      ("version", py + ["--version"]), ("reproduce_help", py + ["reproduce", "--help"])):
        secs, rc, err = timed(cmd, env, work)
        if rc: raise SystemExit(f"{label}: {' '.join(cmd[2:])} failed (exit {rc}):\n{err}")
        res["wall_s"][name] = round(secs, 2)
        print(f"[{label}] {name}: {secs:.1f} s", flush=True)
    world = next((cache/"toy_world").glob("seed*"))
    res |= collect(run, world)
    res["load_after"] = os.getloadavg()[0]
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--baseline", default=None, metavar="REF", help="git ref of the code to compare against (run first)")
    p.add_argument("--only-current", action="store_true", help="profile the working tree alone")
    p.add_argument("--out", default=str(ROOT/"benchmarks/results/toy_profile.json"))
    p.add_argument("--keep", default=None, metavar="DIR", help="keep run folders and caches here (default: a temporary folder)")
    a = p.parse_args(argv)
    if not (a.baseline or a.only_current): p.error("give --baseline REF, or --only-current")
    import torch
    work = Path(a.keep or tempfile.mkdtemp(prefix="toy_profile_")); work.mkdir(parents=True, exist_ok=True)
    out = {"benchmark": "toy_profile", "command": "python benchmarks/" + Path(__file__).name + " " + " ".join(sys.argv[1:] if argv is None else argv),
           "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__},
           "gemm_gflops": {"1024^3, 1 thread": round(gemm_rate(1), 1), f"1024^3, {os.cpu_count()} threads": round(gemm_rate(os.cpu_count()), 1),
                           "(4096x64)@(64x176), 1 thread (a toy MLP)": round(gemm_rate(1, 4096, 176, 64), 1)},
           "runs": {}}
    versions = []
    if a.baseline:
        wt = work/"baseline-src"
        if not wt.exists(): subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(wt), a.baseline], check=True, capture_output=True)
        versions.append(("baseline", wt))
    versions.append(("current", ROOT))
    try:
        for label, code in versions: out["runs"][label] = profile(code, label, work, {})
    finally:
        if a.baseline: subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work/"baseline-src")], capture_output=True)
    if "baseline" in out["runs"]:
        b, c = out["runs"]["baseline"], out["runs"]["current"]
        out["speedup_baseline_over_current"] = {k: round(b["wall_s"][k] / c["wall_s"][k], 2) for k in c["wall_s"]} | {
            f"stage {k}": round(b["stages_s"][k] / c["stages_s"][k], 2) for k in c["stages_s"] if b["stages_s"].get(k) and c["stages_s"][k]}
        out["same_seed_numbers"] = agreement(b["headline"], c["headline"])   # a changed random stream must not move a finding
    for label, r in out["runs"].items():
        job = r["wall_s"]["toy_job"]
        r["gflop_per_s_achieved"] = round(r["gflop_total"] / job, 2)
        r["seconds_at_gemm_peak"] = round(r["gflop_total"] / max(out["gemm_gflops"].values()), 1)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=1))
    if not a.keep: shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__": main()
