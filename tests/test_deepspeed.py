"""DeepSpeed ZeRO-3, run for real on 2 CPU processes (gloo) with `accelerate launch`, against one plain process: RL, SFT and
reward models, and the whole tiny reproduction through the user's launch command.

The job (`tests/zero3_job.py`) trains a tiny GPT-2 with the paper's separate critic (or the value head) and a frozen
reference on the same prompts, reward and global batch (8 rollouts per step: 4 micro-batches of 2 in one process, 2 per
process under ZeRO-3). Sampling seeds follow the global micro-batch, so both see the same rollouts, and the losses of
every step and the final weights must agree to float32 rounding (tolerance 1e-4 relative on losses, 1e-5 on weights).
SFT and reward models (`tests/zero3_trainers_job.py`, TRL's trainers) are held to the same tolerances."""
import collections, json, os, re, subprocess, sys
from pathlib import Path
import pytest

from conftest import comparable_report

pytest.importorskip("deepspeed")
ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT/"tests/zero3_job.py"
TRAINERS_JOB = ROOT/"tests/zero3_trainers_job.py"
BIN = Path(sys.executable).parent

def _env():
    return {**os.environ, "DS_ACCELERATOR": "cpu", "HF_HUB_OFFLINE": "1", "RLAIF_REPRO_PROGRESS": "0", "OMP_NUM_THREADS": "1",
            "RLAIF_REPRO_CACHE": os.environ.get("RLAIF_REPRO_CACHE", str(ROOT/".cache"))}

def launch(script:Path, *args, zero3:bool):
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no", "--use_deepspeed", "--zero_stage", "3"] if zero3 else [sys.executable]
    r = subprocess.run([*launcher, str(script), *map(str, args)], capture_output=True, text=True, env=_env(), timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-4000:]

def run_job(out:Path, model:Path, *args, zero3:bool):
    launch(JOB, out, "--model", model, *args, zero3=zero3)
    return json.loads((out/"summary.json").read_text())

@pytest.fixture(scope="module")
def model(tmp_path_factory)->Path:
    from rlaif_repro.models import build_tiny_model
    return build_tiny_model(tmp_path_factory.mktemp("zero3")/"m", n_layer=2, n_embd=64, n_head=2)

def weights(run:Path, step:int)->dict:
    from safetensors.torch import load_file
    return load_file(run/"candidates"/f"step_{step}"/"model.safetensors")

def assert_same(a:dict, b:dict):
    assert [r["step"] for r in a["rows"]] == [r["step"] for r in b["rows"]]
    for ra, rb in zip(a["rows"], b["rows"]):
        for k in ("rl/policy_loss", "rl/value_loss", "reward/mean"):
            assert rb[k] == pytest.approx(ra[k], rel=1e-4, abs=1e-6), (ra["step"], k, ra[k], rb[k])

@pytest.mark.parametrize("head", [False, True], ids=["separate critic", "value head"])
def test_zero3_rl_matches_one_process(tmp_path, model, head):
    extra = ["--value-head"] if head else []
    one = run_job(tmp_path/"one", model, *extra, zero3=False)
    two = run_job(tmp_path/"two", model, *extra, zero3=True)
    assert (one["world"], two["world"]) == (1, 2) and "DEEPSPEED" in two["type"], (one, two)
    assert_same(one, two)
    wa, wb = weights(tmp_path/"one", 3), weights(tmp_path/"two", 3)
    common = set(wa) & set(wb)
    assert len(common) >= len(wa) - 1   # a tied lm_head may be stored once or twice
    assert max((wa[k] - wb[k]).abs().max().item() for k in common) < 1e-5

def test_zero3_rl_resumes_to_the_same_trajectory(tmp_path, model):
    whole = run_job(tmp_path/"whole", model, zero3=True)
    cut = run_job(tmp_path/"cut", model, "--stop-after", "2", zero3=True)   # ends after step 2's checkpoint, as a kill would
    assert cut["steps"] == 2 and (tmp_path/"cut/checkpoints/state.json").exists()
    resumed = run_job(tmp_path/"cut", model, zero3=True)
    assert resumed["steps"] == 3
    assert_same(whole, resumed)

@pytest.mark.parametrize("kind", ["sft", "rm"])
def test_zero3_trainers_match_one_process(tmp_path, model, kind):
    from safetensors.torch import load_file
    runs = {}
    for name, zero3 in (("one", False), ("two", True)):
        launch(TRAINERS_JOB, kind, tmp_path/name, "--model", model, zero3=zero3)
        runs[name] = json.loads((tmp_path/name/"summary.json").read_text())
    one, two = runs["one"], runs["two"]
    assert (one["world"], two["world"]) == (1, 2)
    assert one["steps"] == two["steps"] == 4                     # 32 examples, global batch 8 on one process or two
    assert two["losses"] == pytest.approx(one["losses"], rel=1e-4)
    assert two["after"] == pytest.approx(one["after"], rel=1e-4)  # held-out loss (SFT) or accuracy (RM) of the saved model
    wa, wb = load_file(tmp_path/"one/model.safetensors"), load_file(tmp_path/"two/model.safetensors")
    assert set(wa) == set(wb)
    assert max((wa[k] - wb[k]).abs().max().item() for k in wa) < 1e-5   # gathered and saved whole, not a shard
    assert not (tmp_path/"two/checkpoints").exists()

def _stage_lines(stderr:str, word:str)->collections.Counter:
    return collections.Counter(re.findall(rf"^\[([\w-]+)\] {word}", stderr, flags=re.M))

def test_reproduce_under_accelerate_launch_writes_the_same_report(tmp_path, tiny_run):
    "The README's command, as a user types it: 2 processes, ZeRO-3, the tiny preset; the same report as one process"
    out = tmp_path/"D"
    args = ["launch", "--num_processes", "2", "--use_deepspeed", "--zero_stage", "3", "-m", "rlaif_repro", "reproduce", "--preset", "tiny", "--out"]
    assert f"DS_ACCELERATOR=cpu accelerate {' '.join(args)} " in (ROOT/"nbs"/"guide"/"scaling.md").read_text()   # the documented command is this one
    cmd = [str(BIN/"accelerate"), *args, str(out)]
    env = _env()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-4000:]
    assert r.stdout.count("report: ") == 1, r.stdout                  # one line from the launch, not one per process
    done = _stage_lines(r.stderr, "done in")
    stages = {p.parent.parent.name for p in tiny_run.glob("*/*/DONE.json")}
    assert set(done) == stages and set(done.values()) == {1}, done    # every stage computed once, by one process
    for st in stages: assert len(list((out/st).glob("*/DONE.json"))) == 1, st
    assert comparable_report(out) == comparable_report(tiny_run)
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, cwd=tmp_path)   # a finished run resumes as cached
    assert again.returncode == 0, again.stderr[-4000:]
    assert set(_stage_lines(again.stderr, "cached")) == stages and not _stage_lines(again.stderr, "done in")

def test_shipped_zero3_config_runs_as_shipped(tmp_path, tiny_run):
    "The shipped `zero3` accelerate config and DeepSpeed file, changing only the process count (and the accelerator, to CPU)"
    from rlaif_repro.plan import launch_config
    out = tmp_path/"D"
    cmd = [str(BIN/"accelerate"), "launch", "--config_file", str(launch_config("zero3")), "--num_processes", "2",
           "-m", "rlaif_repro", "stage", "rl", "--preset", "tiny", "--policies", "RLAIF", "--out", str(out)]
    env = _env()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-4000:]
    for stage in ("rm_ai", "rm_human", "rl_RLAIF"):   # reward models through TRL, RL through our loop: as in one process
        (a,), (b,) = [json.loads(p.read_text())["result"] for p in (tiny_run/stage).glob("*/DONE.json")], \
                     [json.loads(p.read_text())["result"] for p in (out/stage).glob("*/DONE.json")]
        for k in ("accuracy", "reward_start", "reward_end", "kl_end", "selected_step"):
            if k in a: assert b[k] == pytest.approx(a[k], rel=1e-4, abs=1e-6), (stage, k, a[k], b[k])
