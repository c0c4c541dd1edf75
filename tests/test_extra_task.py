"""A task from outside the package: one module (`kitchen_task.py`) registers it, and the whole pipeline runs on it.

Nothing else in the package knows the task: the pipeline, the figures, the labeler prompts, the reward model's start
and the plan all ask its `TaskSpec`."""
import kitchen_task  # registers the task 'kitchen'
import pytest
from stage_reads import undeclared_reads

from rlaif_repro.config import tiny_preset
from rlaif_repro.data import get_task, load_task, register_task, unregister_task
from rlaif_repro.figures import TASK_MAP, TASK_TITLES
from rlaif_repro.pipeline import reproduce
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


def test_reproduce_runs_end_to_end_on_a_new_task(tmp_path):
    lines = []
    rep = reproduce(tiny_preset(task="kitchen"), tmp_path/"run", log=lines.append)
    report = rep.report_path.read_text()
    assert report.startswith("# RLAIF vs. RLHF on `kitchen`")
    assert "## Win rates" in report and "## Harmless rate" in report   # LLM judges rate it, as on a real task
    assert rep.result("sft")["path"] == "tiny:gpt2"                      # sft_from='policy': the policy model as it is
    assert not (rep.dir("eval")/"gold_utility.csv").exists()            # no world, so no gold utility
    assert undeclared_reads(tmp_path/"run") == {}
