"""Nothing served unverified: a finished stage whose files were damaged afterwards stops the next run with one line that
names the file and the `--force-stage` that redoes it; a diverging reward model stops with its cause; a local model
folder is keyed by the content of its files, whatever path names it."""
import json, os, shutil, subprocess, sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent/"rlaif-repro")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "RLAIF_REPRO_PROGRESS": "0"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=900, env=ENV)


def cut_at_a_line(p: Path):   # a table that lost its end at a line boundary: still well-formed JSON lines
    p.write_text("".join(p.read_text().splitlines(True)[:10]))

def flip_human_choice(p: Path):   # every human label reversed: same size, same rows, wrong content
    rows = [json.loads(line) for line in p.read_text().splitlines()]
    p.write_text("".join(json.dumps(r | {"human_choice": 1 - r["human_choice"]}) + "\n" for r in rows))

def zero_a_block(p: Path):   # 4 KB of zeros in the middle of the weights, the file's size and header intact
    with open(p, "r+b") as f: f.seek(p.stat().st_size // 2); f.write(bytes(4096))

def drop_rows(p: Path):   # a CSV that lost its last rows
    p.write_text("".join(p.read_text().splitlines(True)[:-2]))

DAMAGE = [("labels", "labels.jsonl", cut_at_a_line), ("data", "train_comparisons.jsonl", flip_human_choice),
          ("rm_ai", "model/model.safetensors", zero_a_block), ("eval", "win_rates.csv", drop_rows)]


@pytest.mark.parametrize("stage,name,damage", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_damaged_stage_output_stops_the_run_naming_it(tiny_run, tmp_path, stage, name, damage):
    run = tmp_path/"run"
    shutil.copytree(tiny_run, run)
    f = next(run.glob(f"{stage}/*/{name}"))
    damage(f)
    r = cli("reproduce", "--config", str(run/"config.json"), "--out", str(run))
    assert r.returncode == 2, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert f"{f.resolve()}: changed after stage {stage!r} finished" in last and f"--force-stage {stage}" in last, last
    assert "Traceback" not in r.stderr
    if stage == "eval":   # the stage the line names, computed again: the run finishes as before
        r = cli("reproduce", "--config", str(run/"config.json"), "--out", str(run), "--force-stage", "eval")
        assert r.returncode == 0, r.stderr[-3000:]
        assert (run/"report.md").read_text().count("\n") == (tiny_run/"report.md").read_text().count("\n")


def test_a_reward_model_that_diverges_stops_with_its_cause(tiny_run, tmp_path):
    run = tmp_path/"run"
    shutil.copytree(tiny_run, run)
    r = cli("stage", "rm", "--config", str(run/"config.json"), "--out", str(run), "--set", "reward_model.lr=1e6")
    assert r.returncode == 2, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert "reward model (" in last and "stopped at step 1: trainable weights" in last and "lower the learning rate (it is 1e+06)" in last, last
    done = lambda r: sorted(d.relative_to(r) for d in r.glob("rm_*/*") if (d/"DONE.json").exists())
    assert done(run) == done(tiny_run)   # the diverged reward models are not marked finished: nothing serves them


def test_local_model_folders_are_keyed_by_content_and_found_by_any_path(tmp_path, monkeypatch):
    from rlaif_repro.config import tiny_preset
    from rlaif_repro.stages import _local_model_stamp, check_model_names
    monkeypatch.setenv("RLAIF_REPRO_CACHE", str(tmp_path/"cache"))
    m = tmp_path/"models"/"policy"
    m.mkdir(parents=True)
    (m/"config.json").write_text("{}")
    w = m/"model.safetensors"
    w.write_bytes(b"a" * 64)
    cfg = tiny_preset().replace(models__policy=str(m))
    before = _local_model_stamp(cfg)
    assert _local_model_stamp(cfg) == before   # nothing changed: the same key (the hashes come from the cache)
    t = w.stat().st_mtime_ns
    w.write_bytes(b"b" * 64); os.utime(w, ns=(t, t))   # new weights under the old name, size and time, as `cp -p` leaves them
    assert _local_model_stamp(cfg) != before
    monkeypatch.chdir(tmp_path)
    for name in (str(m), "models/policy", "./models/policy"):   # absolute, relative, relative with ./
        check_model_names(tiny_preset().replace(models__policy=name))
