"""Experiment tracking as a user turns it on: `--set report_to=tensorboard` on the tiny preset writes TensorBoard event
files for SFT, the reward models and RL under each stage's folder, the trainers' per-step logs go to metrics files rather
than the console, and tracking is in no stage key (switching it off afterwards reruns nothing)."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

from source_fixtures import write_tldr

pytest.importorskip("tensorboard", reason="report_to='tensorboard' needs the tensorboard package (a dev requirement)")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

def cli(*args, progress="1", timeout=1800):
    exe = shutil.which("rlaif-repro", path=str(Path(sys.executable).parent)) or shutil.which("rlaif-repro")
    assert exe, "the rlaif-repro console script is not installed (pip install -e .)"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RLAIF_REPRO_PROGRESS": progress}
    env.pop("RLAIF_REPRO_VERBOSE", None)
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)

def stage_dir(run:Path, stage:str)->Path:
    (d,) = [m.parent for m in (run/stage).glob("*/DONE.json")]
    return d

def scalar_tags(folder:Path)->set:
    "Scalar tags of every TensorBoard event file under `folder`"
    events = list(folder.rglob("events.out.tfevents.*"))
    assert events, f"no TensorBoard event files under {folder}"
    return {t for e in events for t in EventAccumulator(str(e)).Reload().Tags()["scalars"]}

@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    "`rlaif-repro stage rl` on the tiny preset and TL;DR files (so SFT trains in the run), with TensorBoard tracking"
    tmp = tmp_path_factory.mktemp("tracking")
    files = write_tldr(tmp/"tldr", n_posts=16, n_pairs=16)
    args = ["stage", "rl", "--preset", "tiny", "--task", "tldr", "--out", tmp/"run", "--policies", "RLAIF",
            "--set", f"data.data_files={json.dumps(files)}"]
    r = cli(*args, "--set", "report_to=tensorboard")
    assert r.returncode == 0, r.stderr[-3000:]
    return tmp/"run", args, r

@pytest.mark.parametrize("stage,tags", [("sft", {"train/loss", "train/learning_rate"}), ("rm_ai", {"train/loss", "train/accuracy"}),
                                        ("rm_human", {"train/loss"}), ("rl_RLAIF", {"reward/mean", "rl/kl", "reward/eval_mean"})])
def test_tensorboard_event_files(tracked, stage, tags):
    run, _, _ = tracked
    d = stage_dir(run, stage)
    found = scalar_tags(d/"tracking")
    assert tags <= found, (stage, sorted(found))

def test_per_step_logs_in_metrics_files_not_on_the_console(tracked):
    run, _, r = tracked
    assert "{'loss'" not in r.stderr + r.stdout and "{'train_runtime'" not in r.stderr + r.stdout
    for stage, key in (("sft", "loss"), ("rm_ai", "loss"), ("rm_human", "loss")):
        rows = [json.loads(l) for l in (stage_dir(run, stage)/"metrics.jsonl").read_text().splitlines()]
        assert rows and all("step" in x for x in rows) and any(key in x for x in rows), (stage, rows[:3])
    assert (stage_dir(run, "rl_RLAIF")/"run"/"metrics.jsonl").exists()

def test_tracking_is_in_no_stage_key(tracked):
    "The same run with tracking off finds every stage finished: report_to does not change results"
    run, args, _ = tracked
    r = cli(*args, "--set", "report_to=none", progress="0")
    assert r.returncode == 0, r.stderr[-3000:]
    for stage in ("data", "sft", "labels", "rm_ai", "rm_human", "rl_RLAIF"):
        assert f"[{stage}] cached" in r.stderr, (stage, r.stderr[-2000:])

def test_trainer_kwargs_are_keyed_and_checked(tracked):
    "A TRL argument passed through changes the SFT stage's key (it can change results); an unknown one is one clear line"
    run, args, _ = tracked
    r = cli("config", "--preset", "tiny", "--set", 'sft.trainer_kwargs={"loging_steps": 1}')
    assert r.returncode != 0
    assert "SFTConfig.trainer_kwargs: 'loging_steps' is not an argument of trl.SFTConfig; did you mean 'logging_steps'?" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    sft_args = ["stage", "sft", *args[2:]]
    r = cli(*sft_args, "--set", 'sft.trainer_kwargs={"max_grad_norm": 0.5}', progress="0")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "[data] cached" in r.stderr and "[sft] done" in r.stderr, r.stderr[-2000:]
    assert len(list((run/"sft").glob("*/DONE.json"))) == 2   # a second SFT key folder beside the first
