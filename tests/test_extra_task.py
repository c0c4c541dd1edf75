"""A task from outside the package: one module (`kitchen_task.py`) registers it, and the whole pipeline runs on it.

Nothing else in the package knows the task: the pipeline, the figures, the labeler prompts, the reward model's start
and the plan all ask its `TaskSpec`."""
import json, os, shutil, subprocess, sys
from pathlib import Path

import kitchen_task  # registers the task 'kitchen'
import pytest
from stage_reads import undeclared_reads

from rlaif_repro.config import tiny_preset
from rlaif_repro.data import get_task, load_task, register_task, unregister_task
from rlaif_repro.figures import TASK_MAP, TASK_TITLES
from rlaif_repro.plan import plan
from rlaif_repro.prompts import build_label_prompt, list_variants


@pytest.fixture(autouse=True, scope="module")
def kitchen():
    "The task for this module's tests only: other test modules in the same process see the four built-in tasks"
    register_task(kitchen_task.SPEC)
    yield kitchen_task.SPEC
    unregister_task("kitchen")


def test_registration_reaches_every_chapter():
    spec = get_task("kitchen")
    assert TASK_MAP["kitchen"] == "hh_helpful" and TASK_TITLES["kitchen"] == "Kitchen answers"
    assert "base_2shot" in list_variants("kitchen") and "detailed_8shot" not in list_variants("kitchen")   # two exemplars
    p = build_label_prompt("kitchen", "base_1shot", "Is milk fine after a week?", "Smell it first.", "Always.")
    assert "Preferred Answer=" in p and spec.prompts.templates["sample"].split(" - ")[0] in p
    assert load_task("kitchen", "test")["comparisons"].num_rows == 16
    assert plan(tiny_preset(task="kitchen")) is not None


def installed(site):
    "Make `site` look like a folder where a package offering the task `kitchen` was installed (entry-point group `rlaif_repro.tasks`)"
    dist = site/"kitchen_task-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist/"METADATA").write_text("Metadata-Version: 2.1\nName: kitchen-task\nVersion: 0.1\n")
    (dist/"entry_points.txt").write_text("[rlaif_repro.tasks]\nkitchen = kitchen_task:SPEC\n")
    shutil.copy(Path(kitchen_task.__file__), site)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]), "HF_HUB_OFFLINE": "1",
            "RLAIF_REPRO_PROGRESS": "0"}


def test_reproduce_runs_end_to_end_on_an_installed_task(tmp_path):
    "The command line finds a task that an installed package offers, with no import of it anywhere: `--task kitchen` runs it"
    env, run = installed(tmp_path/"site"), tmp_path/"run"
    cli = str(Path(sys.executable).parent/"rlaif-repro")
    r = subprocess.run([cli, "reproduce", "--preset", "tiny", "--task", "kitchen", "--out", str(run)], capture_output=True, text=True,
                       timeout=1200, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    report = (run/"report.md").read_text()
    assert report.startswith("# RLAIF vs. RLHF on `kitchen`")
    assert "## Win rates" in report and "## Harmless rate" in report   # LLM judges rate it, as on a real task
    sft = json.loads(next((run/"sft").glob("*/DONE.json")).read_text())["result"]
    assert sft["path"] == "tiny:gpt2"                                   # sft_from='policy': the policy model as it is
    assert not list(run.glob("eval/*/gold_utility.csv"))                # no world, so no gold utility
    assert undeclared_reads(run) == {}
    r = subprocess.run([cli, "data", "--task", "kitchn", "--split", "test"], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 2 and "'kitchen'" in r.stderr, r.stderr[-2000:]   # argparse offers the installed task among the choices
