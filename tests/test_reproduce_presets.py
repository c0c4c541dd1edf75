"""`rlaif-repro reproduce` as a user runs it, on every real task and on the GPU presets' stage graphs, offline: the presets'
Hub models load as stand-ins and the data come from local files in each source's format. Small slices keep CI fast:
`data.limit=8` (so `rl.batch_size=8`, one batch of the 8 prompts) and 16-token rationales; everything else is as shipped."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest
from stage_reads import never_read, undeclared_reads, unread_declared

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--set", "data.limit=8", "--set", "rl.batch_size=8", "--set", "labeler.cot_max_new_tokens=16"]
RL_STAGES = ["rl_RLAIF", "rl_RLHF", "rl_same-size_RLAIF", "rl_d-RLAIF"]
ALL_STAGES = ["data", "sft", "labels", "labels_same_size", "rm_ai", "rm_human", "rm_same_size", *RL_STAGES, "eval", "studies", "report"]
FIGURES = ["figure1", "table2", "tables3_4", "table5", "rm_data_size", "length_control", "table14"]

def cli(*args, cwd=None, timeout=1200):
    exe = shutil.which("rlaif-repro", path=str(Path(sys.executable).parent)) or shutil.which("rlaif-repro")
    assert exe, "the rlaif-repro console script is not installed (pip install -e .)"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RLAIF_REPRO_PROGRESS": "0"}
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)

def done(run:Path, stage:str)->dict:
    "The result a finished stage recorded (exactly one key folder per stage in these runs)"
    marks = list((run/stage).glob("*/DONE.json"))
    assert len(marks) == 1, f"{stage}: expected one finished key folder, found {marks}"
    return json.loads(marks[0].read_text())["result"]

def check_report(run:Path, r):
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stderr.splitlines()[0].startswith("[stand-ins] Hub models load as tiny random stand-ins"), r.stderr[:500]
    for stage in ALL_STAGES: done(run, stage)
    text = (run/"report.md").read_text()
    assert "Stand-in models: these numbers measure nothing" in text
    for f in FIGURES: assert (run/"figures"/f"{f}.png").stat().st_size > 1000, f
    assert f"report: {run/'report.md'}" in r.stdout
    assert undeclared_reads(run) == {}   # every field a stage read is in its cache key

@pytest.mark.parametrize("task", ["tldr", "hh_helpful", "hh_harmless"])
def test_colab_preset_every_task(task, tmp_path, stand_ins, data_files, request):
    run = tmp_path/"run"
    r = cli("reproduce", "--preset", "colab", "--task", task, "--stand-ins", stand_ins, "--out", run,
            "--set", f"data.data_files={json.dumps(data_files[task])}", *SMALL)
    check_report(run, r)
    cfg = json.loads((run/"config.json").read_text())
    assert cfg["models"]["stand_ins"] == str(stand_ins) and cfg["rl"]["use_lora"] and cfg["sft"]["use_lora"]
    sft = done(run, "sft")
    if task == "tldr": assert sft["path"].startswith("./sft/") and (run/sft["path"]/"model.safetensors").exists()   # trained here
    else: assert sft["path"] == "Qwen/Qwen2.5-0.5B-Instruct"      # dialogue: the instruction-tuned model is the SFT policy
    labels = [json.loads(l) for l in next((run/"labels").glob("*/labels.jsonl")).read_text().splitlines()]
    assert len(labels) == 8 and all(0 <= l["p_1"] <= 1 for l in labels)
    cot = task != "hh_harmless"                               # the paper's variants: CoT for TL;DR and helpful, 2-shot for harmless
    assert ("rationale_fwd" in labels[0]) == cot
    for s in RL_STAGES: assert done(run, s)["path"].startswith(f"./{s}/")   # run-relative
    ev = (next((run/"eval").glob("*/win_rates.csv"))).read_text()
    assert "RLAIF vs SFT" in ev and "RLAIF vs RLHF" in ev
    if task == "tldr":   # with the tiny toy run, this run reads every field of the config (TL;DR trains SFT; colab uses LoRA)
        both = [run, request.getfixturevalue("tiny_run")]
        assert never_read(both) == []                    # no dead field
        assert undeclared_reads(both[1]) == {}           # the toy run's keys tell the truth too
        assert unread_declared(both) == CONDITIONAL      # no stage keyed on a field it does not read, but for these

# fields in a stage's key that these small runs do not reach, and why
CONDITIONAL = {"studies": [f"reward_model.{f}" for f in ("batch_size", "center_rewards", "epochs", "gradient_checkpointing", "init",
                                                        "lr", "max_length", "micro_batch_size", "optimizer", "trainer_kwargs", "use_lora")]}
# (the reward-model data-size curve trains RMs only on training sets of more than 128 pairs; these runs have 8 and 32)

@pytest.mark.parametrize("preset,task,labeler", [("paper", "tldr", "Qwen/Qwen2.5-72B-Instruct"), ("single_gpu", "hh_helpful", "Qwen/Qwen2.5-14B-Instruct")])
def test_gpu_preset_stage_graph(preset, task, labeler, tmp_path, stand_ins, data_files):
    "The full-weight presets (no LoRA): paper (7B policy, 72B labeler) and single_gpu (1.5B, 14B). The paper preset labels with vLLM, which lives in its own environment: here the transformers backend"
    run = tmp_path/"run"
    r = cli("reproduce", "--preset", preset, "--task", task, "--stand-ins", stand_ins, "--out", run,
            "--set", f"data.data_files={json.dumps(data_files[task])}", "--set", "labeler.backend=hf", *SMALL)
    check_report(run, r)
    cfg = json.loads((run/"config.json").read_text())
    assert cfg["models"]["labeler"] == labeler and not cfg["rl"]["use_lora"] and not cfg["sft"]["use_lora"]
    assert done(run, "labels")["labeler"] == labeler

def test_stand_ins_must_cover_every_model(tmp_path, stand_ins):
    "A stand-ins folder that lacks one of the config's Hub models is refused before any stage runs"
    small = tmp_path/"si"
    cli("stand-ins", "--preset", "colab", "--task", "hh_harmless", "--out", small)
    r = cli("reproduce", "--preset", "colab", "--task", "tldr", "--stand-ins", small, "--out", tmp_path/"run")
    assert r.returncode == 2 and "has no stand-in for policy 'Qwen/Qwen2.5-0.5B'" in r.stderr, r.stderr
    assert "rlaif-repro stand-ins --preset colab" in r.stderr and not (tmp_path/"run").exists()

def test_stand_ins_command_writes_every_preset_model(tmp_path):
    r = cli("stand-ins", "--preset", "single_gpu", "--out", tmp_path/"si")
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/"si"/"stand_ins.json").read_text())["models"]
    assert sorted(m) == ["Qwen/Qwen2.5-1.5B", "Qwen/Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-14B-Instruct"]
    for folder in m.values():
        assert json.loads((tmp_path/"si"/folder/"config.json").read_text())["architectures"] == ["Qwen2ForCausalLM"]

def test_tiny_preset_as_shipped_from_any_directory(tmp_path):
    "`reproduce --preset tiny` (task toy) runs to a report; the run folder works from another directory; lost outputs rerun"
    (tmp_path/"sub").mkdir()
    r = cli("reproduce", "--preset", "tiny", "--out", "../runs/tiny", cwd=tmp_path/"sub")
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path/"runs/tiny"
    assert (run/"report.md").exists() and done(run, "rl_RLAIF")["path"].startswith("./rl_RLAIF/")
    shutil.rmtree(run/done(run, "rl_RLAIF")["path"])          # a finished stage whose checkpoint went missing
    r = cli("reproduce", "--preset", "tiny", "--out", "runs/tiny", cwd=tmp_path)   # another working directory
    assert r.returncode == 0, r.stderr[-3000:]
    assert "[rl_RLAIF] outputs missing" in r.stderr and "[rl_RLHF] cached" in r.stderr
    assert (run/done(run, "rl_RLAIF")["path"]).is_dir()

def test_one_lane_finds_a_side_by_side_run_cached(tmp_path, tiny_run):
    "Stage keys do not depend on how many lanes computed the run, nor on the order its stages finished in"
    for lanes in (1, 2):   # one of them differs from the tiny run's (two lanes on two free cores, one under OMP_NUM_THREADS=1)
        shutil.copytree(tiny_run, tmp_path/f"run{lanes}")
        r = cli("reproduce", "--preset", "tiny", "--set", f"parallel_stages={lanes}", "--out", tmp_path/f"run{lanes}")
        assert r.returncode == 0, r.stderr[-3000:]
        assert "[report] cached" in r.stderr and "done in" not in r.stderr, r.stderr

@pytest.mark.parametrize("task", ["tldr", "hh_helpful"])
def test_tiny_preset_runs_every_real_task(task, tmp_path, data_files):
    "The tiny preset is offered for every task: on each source's files it runs to a report (hh_harmless, on the real file: test_bad_input.py)"
    r = cli("reproduce", "--preset", "tiny", "--task", task, "--out", tmp_path/"run", "--set", f"data.data_files={json.dumps(data_files[task])}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path/"run"/"report.md").read_text().startswith(f"# RLAIF vs. RLHF on `{task}`")

def test_tiny_sft_stage_on_tldr(tmp_path, data_files):
    r = cli("stage", "sft", "--preset", "tiny", "--task", "tldr", "--out", tmp_path/"run", "--set", f"data.data_files={json.dumps(data_files['tldr'])}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "[sft] done in" in r.stderr and "held-out loss" in r.stderr
    r = cli("stage", "sft", "--preset", "tiny", "--task", "tldr", "--out", tmp_path/"run", "--set", f"data.data_files={json.dumps(data_files['tldr'])}")
    assert "[sft] cached" in r.stderr

def test_data_without_network_is_one_clear_line():
    r = cli("data", "--task", "tldr")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().startswith("rlaif-repro data: error: could not load trl-lib/tldr") and len(r.stderr.strip().splitlines()) == 1

@pytest.mark.skipif(__import__("importlib").util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_vllm_backend_without_vllm_fails_before_any_stage(tmp_path):
    r = cli("reproduce", "--preset", "tiny", "--set", "labeler.backend=vllm", "--out", tmp_path/"run")
    assert r.returncode == 2 and "labeler.backend='vllm' needs vLLM" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path/"run"/"data").exists()
