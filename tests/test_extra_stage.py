"""A stage added from outside the package (`extra_stage.py`: one table row and its method) runs through the command line:
`reproduce` computes it after the evaluation and before the report, `stage NAME` and `--force-stage NAME` know it."""
import os, shutil, subprocess, sys
from pathlib import Path

import pandas as pd

TESTS = Path(__file__).parent


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    "The `rlaif-repro` command in a process that has imported `extra_stage` first"
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import extra_stage; from rlaif_repro.cli import main; "
            "sys.exit(main(sys.argv[2:]))")
    return subprocess.run([sys.executable, "-c", code, str(TESTS), *args], capture_output=True, text=True, timeout=900, cwd=cwd,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "RLAIF_REPRO_PROGRESS": "0"})


def test_a_stage_from_outside_runs_through_the_cli(tiny_run, tmp_path):
    run = tmp_path/"run"
    shutil.copytree(tiny_run, run)
    r = cli("reproduce", "--config", str(run/"config.json"), "--out", str(run), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    done = {l[1:].split("]")[0] for l in r.stderr.splitlines() if l.startswith("[") and "] done in" in l}
    assert done == {"lengths", "report"}, r.stderr[-3000:]   # every stage of the package's table is cached
    lengths = pd.read_csv(next(run.glob("lengths/*/lengths.csv")))
    assert {"SFT", "RLAIF", "RLHF"} <= set(lengths["policy"]) and (lengths["words"] > 0).all()
    r = cli("stage", "lengths", "--config", str(run/"config.json"), "--out", str(run), "--force-stage", "lengths", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "[lengths] computing again (--force-stage)" in r.stderr and "[report]" not in r.stderr, r.stderr[-3000:]
    r = cli("stage", "lengths", "--preset", "tiny", "--out", str(tmp_path/"other"), "--force-stage", "lenghts", cwd=tmp_path)
    assert r.returncode == 2 and "'lenghts' is not a stage of this run" in r.stderr, r.stderr[-2000:]
