"""Fault injection: what a user's run meets in the wild, each driven through the `rlaif-repro` command.

Kills are real `SIGKILL`s: a small driver script patches one function of the library to kill its own process at a
chosen point (mid data, labels, reward model, RL, evaluation), then runs the CLI's `main`. Other cases: two runs on
one folder, changed input files, a recomputed upstream stage, torn and damaged files, NaN config values and logits,
an exploding learning rate, bad model names, and the toy world's builders when their parent is killed."""
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest

from conftest import comparable_report

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--preset", "tiny"]

# the driver: argv = [kill_point or "-", cli args...]; a kill point patches one library function to SIGKILL this process
DRIVER = r'''
import os, signal, sys
point, args = sys.argv[1], sys.argv[2:]
def kill_on(owner, name, call):
    real, n = getattr(owner, name), [0]
    def wrapper(*a, **k):
        n[0] += 1
        if n[0] >= call: os.kill(os.getpid(), signal.SIGKILL)
        return real(*a, **k)
    setattr(owner, name, wrapper)
if point == "data":
    import rlaif_repro.stages as m; kill_on(m, "_jsonl", 3)                 # two of six tables written
elif point == "labels":
    from rlaif_repro.labeler import Labeler; kill_on(Labeler, "_label_batch", 2)   # one batch cached
elif point == "rm":
    import transformers; kill_on(transformers.Trainer, "training_step", 3)    # mid reward-model training
elif point == "rl":
    import rlaif_repro.a2c as m; kill_on(m, "a2c_loss", 6)                    # after the first RL checkpoints
elif point == "eval":
    import rlaif_repro.sft as m; kill_on(m, "generate_completions", 2)        # one policy's responses generated
elif point == "perturb-labels":                                             # a recomputed stage whose output differs
    from rlaif_repro.labeler import Labeler
    real = Labeler._label_batch
    def shifted(self, batch):
        res = real(self, batch)
        res["p_1"] = [min(1.0, p + 0.01) for p in res["p_1"]]
        return res
    Labeler._label_batch = shifted
import rlaif_repro.pipeline as _p
_p._lanes = lambda cfg, r: 1   # the kill points patch this process: every stage runs in it (a helper lane is killed in its own test)
from rlaif_repro.cli import main
sys.exit(main(args))
'''

def run_cli(*args, kill_at:str="-", timeout=900):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RLAIF_REPRO_PROGRESS": "0"}
    return subprocess.run([sys.executable, "-c", DRIVER, kill_at, *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)

def one_line_error(r, *needles):
    "rc 2, and stderr's error is one line holding every needle (no traceback)"
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    err = [l for l in r.stderr.splitlines() if ": error: " in l]
    assert len(err) == 1, r.stderr[-2000:]
    for n in needles: assert n in err[0], (n, err[0])
    return err[0]

def key_dir(run:Path, stage:str)->Path:
    (d,) = [p.parent for p in (run/stage).glob("*/DONE.json")]
    return d

@pytest.fixture
def baseline(tiny_run)->Path:
    "One uninterrupted `reproduce --preset tiny` run (shared with the other suites; tests copy it before changing anything)"
    return tiny_run

@pytest.fixture
def copy_of(baseline, tmp_path):
    def make()->Path:
        dst = tmp_path/"run"; shutil.copytree(baseline, dst); (dst/".lock").unlink(missing_ok=True); return dst
    return make

def test_killed_at_five_points_resumes_to_the_same_report(baseline, tmp_path):
    run = tmp_path/"killed"
    for point in ("data", "labels", "rm", "rl", "eval"):
        r = run_cli("reproduce", *TINY, "--out", run, kill_at=point)
        assert r.returncode == -signal.SIGKILL, (point, r.returncode, r.stderr[-2000:])
    r = run_cli("reproduce", *TINY, "--out", run)
    assert r.returncode == 0, r.stderr[-3000:]
    assert comparable_report(run) == comparable_report(baseline)
    for table in ("win_rates.csv", "rankings.csv"):
        if (key_dir(baseline, "eval")/table).exists():
            assert (key_dir(run, "eval")/table).read_text() == (key_dir(baseline, "eval")/table).read_text(), table
    assert (key_dir(run, "labels")/"labels.jsonl").read_text() == (key_dir(baseline, "labels")/"labels.jsonl").read_text()

@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: reproduce runs every stage in one process")
def test_a_killed_helper_lane_leaves_its_stage_to_the_main_process(baseline, tmp_path):
    "The second lane (a helper process) is SIGKILLed in the middle of a stage it claimed: the run still ends with the same report"
    run = tmp_path/"run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RLAIF_REPRO_PROGRESS": "0"}
    p = subprocess.Popen([sys.executable, "-m", "rlaif_repro", "reproduce", *TINY, "--set", "parallel_stages=2", "--out", str(run)], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim, deadline = None, time.time() + 600
    while victim is None and p.poll() is None and time.time() < deadline:   # the first stage a helper lane is computing
        for f in run.glob(".lanes/*/*.json"):
            try: claim = json.loads(f.read_text() or "{}")
            except ValueError: continue
            if claim.get("lane") == 1 and "cached" not in claim: victim = (f.name, claim["pid"]); break
        time.sleep(0.02)
    assert victim is not None, "no helper lane was seen computing a stage"
    os.kill(victim[1], signal.SIGKILL)
    out, err = p.communicate(timeout=900)
    assert p.returncode == 0, err[-3000:]
    assert "[lanes] a helper lane stopped early (exit -9" in err, (victim, err[-3000:])
    assert comparable_report(run) == comparable_report(baseline)

def test_a_second_process_on_the_same_folder_is_refused(copy_of):
    run = copy_of()
    holder = subprocess.Popen([sys.executable, "-c", f"import time; from rlaif_repro.core import RunDir; RunDir({str(run)!r}).lock(); "
                               "print('held', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        r = run_cli("stage", "data", *TINY, "--out", run)
        one_line_error(r, f"is in use by process {holder.pid}", "another --out")
    finally: holder.kill(); holder.wait()
    r = run_cli("stage", "data", *TINY, "--out", run)   # the dead holder's lock is gone with it
    assert r.returncode == 0 and "[data] cached" in r.stderr, r.stderr[-2000:]

def test_changed_data_file_reruns_data(tmp_path, data_files):
    src = Path(data_files["hh_helpful"]["train"])
    mine = tmp_path/"train.jsonl.gz"; shutil.copyfile(src, mine)
    files = json.dumps({"train": str(mine), "test": data_files["hh_helpful"]["test"]})
    args = ("stage", "data", *TINY, "--task", "hh_helpful", "--out", tmp_path/"run", "--set", f"data.data_files={files}")
    r = run_cli(*args); assert r.returncode == 0 and "[data] done" in r.stderr, r.stderr[-2000:]
    r = run_cli(*args); assert "[data] cached" in r.stderr, r.stderr[-2000:]
    import gzip
    rows = gzip.open(mine, "rt").read().splitlines()
    with gzip.open(mine, "wt") as f: f.write("\n".join(rows[:-3]) + "\n")   # same path, different content
    r = run_cli(*args)
    assert r.returncode == 0 and "[data] done" in r.stderr, r.stderr[-2000:]

def test_a_recomputed_stage_invalidates_what_read_it(copy_of):
    run = copy_of()
    r = run_cli("stage", "rm", *TINY, "--out", run, "--force-stage", "labels", kill_at="perturb-labels")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "[labels] computing again" in r.stderr and "[rm_ai] done" in r.stderr, r.stderr[-2000:]
    assert "[rm_human] cached" in r.stderr and "[labels_same_size] cached" in r.stderr, r.stderr[-2000:]

def test_torn_table_is_an_error_that_says_what_to_rerun(copy_of):
    run = copy_of()
    labels = key_dir(run, "labels")/"labels.jsonl"
    n = len(labels.read_text().splitlines())
    with open(labels, "a") as f: f.write('{"id": "toy-train-0", "p_1')
    r = run_cli("stage", "rm", *TINY, "--out", run, "--force-stage", "rm_ai")
    # the stage's own record of its files finds it before any reader does (a torn line in a source file: test_data)
    one_line_error(r, "labels.jsonl: changed after stage 'labels' finished", "when written", "--force-stage labels")
    assert n > 0

def test_damaged_marker_and_weights(copy_of):
    run = copy_of()
    (key_dir(run, "rm_ai")/"DONE.json").write_text('{"stage": "rm_ai"}')
    r = run_cli("stage", "rm", *TINY, "--out", run)
    one_line_error(r, "damaged stage marker", "--force-stage rm_ai")
    r = run_cli("stage", "rm", *TINY, "--out", run, "--force-stage", "rm_ai")
    assert r.returncode == 0 and "[rm_ai] computing again" in r.stderr, r.stderr[-2000:]
    weights = key_dir(run, "rm_human")/"model"/"model.safetensors"
    weights.write_bytes(b"not a safetensors file")
    r = run_cli("stage", "rl", *TINY, "--out", run, "--policies", "RLHF", "--force-stage", "rl_RLHF")
    one_line_error(r, f"{weights}: changed after stage 'rm_human' finished (22 bytes", "--force-stage rm_human")

def test_nan_and_infinity_in_configs(tmp_path, capsys):
    from rlaif_repro.cli import main   # in-process: five CLI calls without five interpreter starts
    for override in ("rl.max_kl=NaN", "rl.epochs=Infinity", "rl.lr=NaN", "eval.confidence_level=NaN"):
        assert main(["config", *TINY, "--set", override]) == 2
        err = capsys.readouterr().err
        assert "must be a finite number" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    (tmp_path/"c.json").write_text(json.dumps({"name": "mine"}))   # no "preset" key
    assert main(["config", "--config", str(tmp_path/"c.json")]) == 0
    assert json.loads(capsys.readouterr().out)["preset"] is None

def test_exploding_learning_rate_stops_with_the_cause(copy_of):
    run = copy_of()
    r = run_cli("stage", "rl", *TINY, "--out", run, "--policies", "RLAIF", "--set", "rl.lr=1e6", "--set", "rl.value_lr=1e6",
                "--set", "rl.max_kl=1e9")
    # AdamW's first step moves every weight with a gradient by about lr, far past the guard's limit, on any CPU
    one_line_error(r, "A2C stopped at step 1:", "exploding weights", "lower the learning rate")

def test_bad_model_name_is_found_before_any_stage(tmp_path):
    r = run_cli("reproduce", *TINY, "--out", tmp_path/"run", "--set", f"models.scorer={tmp_path/'no-such-model'}")
    one_line_error(r, "models that cannot be loaded", "scorer", "does not exist")
    assert not (tmp_path/"run"/"data").exists()

def test_nan_logits_are_an_error_and_never_cached(tmp_path):
    import torch
    from rlaif_repro.config import LabelerConfig
    from rlaif_repro.labeler import Labeler
    from rlaif_repro.models import load_causal_lm
    model, tok = load_causal_lm("tiny:gpt2", device="cpu")
    with torch.no_grad(): model.get_output_embeddings().weight.fill_(float("-inf"))
    lab = Labeler(model, tok, "hh_harmless", LabelerConfig(variant="base_0shot"), name="inf-model")
    pair = {"id": "p0", "context": "Human: hi\n\nAssistant:", "response_1": "Hello.", "response_2": "Go away."}
    with pytest.raises(ValueError, match="labeler 'inf-model' gave p_1 = nan for pair id 'p0'"):
        lab.label([pair], cache_dir=tmp_path/"cache", desc=None)
    assert not list((tmp_path/"cache").glob("*.json"))

def _children(pid:int)->list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try: fields = (p/"stat").read_text().rsplit(")", 1)[1].split()
            except OSError: continue
            if int(fields[1]) == pid: out.append(int(p.name))
    return out

def _alive(pid:int)->bool:
    try: return (Path("/proc")/str(pid)/"stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError: return False

@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_world_builders_die_with_their_parent(tmp_path):
    env = {**os.environ, "RLAIF_REPRO_PROGRESS": "0"}
    parent = subprocess.Popen([sys.executable, "-c", "from rlaif_repro.toy.build import build_world; "
                               f"build_world(seed=7, root={str(tmp_path)!r}, workers=2)"], env=env, start_new_session=True)
    kids, t0 = [], time.time()
    while len(kids) < 2 and time.time() - t0 < 120 and parent.poll() is None:
        time.sleep(0.5); kids = _children(parent.pid)
    assert len(kids) == 2, f"no builder processes appeared ({kids})"
    os.kill(parent.pid, signal.SIGKILL); parent.wait()
    t0 = time.time()
    # a builder checks its parent every 0.5 s once its imports are done; those can take tens of seconds on a loaded machine
    while any(_alive(k) for k in kids) and time.time() - t0 < 60: time.sleep(0.5)
    alive = [k for k in kids if _alive(k)]
    for k in alive: os.kill(k, signal.SIGKILL)
    assert not alive, "builders outlived their killed parent"
    from rlaif_repro.toy.build import ensure_part, world_dir
    stale = world_dir(7, tmp_path)/".labeler-L.killed.tmp"; stale.mkdir(parents=True, exist_ok=True)
    (world_dir(7, tmp_path)/".tokenizer.killed.tmp").mkdir()
    shutil.rmtree(world_dir(7, tmp_path)/"tokenizer", ignore_errors=True)
    ensure_part("tokenizer", 7, tmp_path)                  # a later build of that part clears what a killed one left
    assert not (world_dir(7, tmp_path)/".tokenizer.killed.tmp").exists()
