"Each stage's cache key holds every config field the stage reads (see stage_reads.py); the real-task half is in test_reproduce_presets"
from stage_reads import markers, undeclared_reads

def test_tiny_run_stages_read_only_what_their_keys_hold(tiny_run):
    ms = markers(tiny_run)
    assert {m["stage"] for m in ms} >= {"data", "labels", "rm_ai", "rm_human", "rl_RLAIF", "rl_RLHF", "eval", "studies", "report"}
    assert all(m["reads"] for m in ms if m["stage"] != "sft")   # the recorder saw something in every stage that reads the config
    assert undeclared_reads(tiny_run) == {}

def test_editing_a_stages_code_reruns_it_and_what_follows(tiny_run, tmp_path, monkeypatch):
    "A changed RL code digest (as after an edit of a2c.py) recomputes the RL stages, the evaluation and the report, and nothing before them"
    import shutil
    from conftest import comparable_report
    from rlaif_repro import pipeline, stages
    from rlaif_repro.config import ExperimentConfig
    run = tmp_path/"run"
    shutil.copytree(tiny_run, run)
    real = stages.stage_code
    monkeypatch.setattr(stages, "stage_code", lambda stage, *task: real(stage, *task) + ("-edited" if stage.startswith("rl_") else ""))
    lines = []
    pipeline.reproduce(ExperimentConfig.from_json(run/"config.json"), run, log=lines.append)
    computed = {l[1:].split("]")[0] for l in lines if l.startswith("[") and "] done in" in l}
    rl = {p.name for p in tiny_run.glob("rl_*")}
    assert len(rl) == 4 and computed == rl | {"eval", "report"}, lines
    assert comparable_report(run) == comparable_report(tiny_run)   # same code in fact, so the same numbers
