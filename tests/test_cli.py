"The installed `rlaif-repro` command, run as a user would run it (a subprocess)."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

from rlaif_repro.config import ExperimentConfig

ROOT = Path(__file__).resolve().parents[1]
HH_TEST = ROOT.parent / "shared/data/hh-rlhf/harmless-base-test.jsonl.gz"

def cli(*args):
    exe = shutil.which("rlaif-repro", path=str(Path(sys.executable).parent)) or shutil.which("rlaif-repro")
    assert exe, "the rlaif-repro console script is not installed (pip install -e .)"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RLAIF_REPRO_PROGRESS": "0"}
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=300)

def test_config_prints_resolved_preset_and_saves(tmp_path):
    r = cli("config", "--preset", "toy", "--set", "rl.kl_coef=0.1", "--save", str(tmp_path / "c.json"), "--show-paper")
    assert r.returncode == 0, r.stderr
    body = r.stdout.split("\nOurs vs the paper")[0]
    assert json.loads(body)["rl"]["kl_coef"] == 0.1
    assert "rl.kl_coef" in r.stdout and "App. A.3, G" in r.stdout
    assert ExperimentConfig.from_json(tmp_path / "c.json") == ExperimentConfig.preset("toy", rl__kl_coef=0.1)

def test_config_errors_are_clear():
    r = cli("config", "--set", "reward_model.batchsize=4")
    assert r.returncode == 2 and "did you mean 'reward_model.batch_size'" in r.stderr
    r = cli("config", "--set", "rl.temperature=-1")
    assert r.returncode == 2 and "A2CConfig.temperature=-1 is invalid" in r.stderr

@pytest.mark.skipif(not HH_TEST.exists(), reason=f"real HH-RLHF test file not found at {HH_TEST}")
def test_data_on_real_hh_file():
    r = cli("data", "--task", "hh_harmless", "--split", "test", "--data-files", str(HH_TEST), "--show", "1")
    assert r.returncode == 0, r.stderr
    assert "hh_harmless/test:" in r.stdout and "comparisons" in r.stdout

def test_plan_follows_the_vllm_engine_settings():
    "`plan` times and sizes labeling on the GPUs one vLLM engine spans, and refuses more than the plan has"
    r = cli("plan", "--preset", "paper", "--gpu", "H100-80GB", "--num-gpus", "8", "--set", "models.vllm_tensor_parallel_size=4")
    assert r.returncode == 0, r.stderr
    assert "vLLM, tensor parallel x4 (4 GPUs idle), reserves 90% of each GPU" in r.stdout
    r = cli("plan", "--preset", "paper", "--gpu", "H100-80GB", "--num-gpus", "2", "--set", "models.vllm_tensor_parallel_size=4")
    assert r.returncode == 2 and "spans 4 GPUs, but the plan has 2" in r.stderr and "Traceback" not in r.stderr

def test_paper_preset_fits_eight_80gb_gpus_with_activation_checkpointing():
    "As shipped, the paper preset fits 8 x H100-80GB; without RL activation checkpointing its RL stage does not, and the error says so"
    r = cli("plan", "--preset", "paper", "--gpu", "H100-80GB", "--num-gpus", "8")
    assert r.returncode == 0, r.stderr
    assert "activation checkpointing" in [l for l in r.stdout.splitlines() if l.strip().startswith("rl:")][0]
    r = cli("plan", "--preset", "paper", "--gpu", "H100-80GB", "--num-gpus", "8", "--set", "rl.gradient_checkpointing=false")
    assert r.returncode == 2 and "- rl: needs" in r.stderr and "rl.gradient_checkpointing=true" in r.stderr, r.stderr

@pytest.mark.parametrize("preset,gpu", [("colab", "T4"), ("single_gpu", "A100-80GB"), ("paper", "H100-80GB")])
def test_each_gpu_preset_fits_its_gpu_on_every_task(capsys, preset, gpu):
    "The GPU each preset is sized for, by the planner (its memory model holds float32 master weights of what trains)"
    for task in ("tldr", "hh_helpful", "hh_harmless"):
        from rlaif_repro.cli import main   # in this process: the planner imports no torch
        try: code = main(["plan", "--preset", preset, "--task", task, "--gpu", gpu, *(["--num-gpus", "8"] if preset == "paper" else [])])
        except SystemExit as e: code = e.code
        assert code in (0, None), (preset, task, capsys.readouterr().err)

SUBCOMMANDS = ["config", "data", "reproduce", "stage", "stand-ins", "plan", "sweep", "env"]

def in_process(capsys, *args)->tuple:
    "`rlaif-repro ARGS` through `cli.main` (what the script calls), for answers argparse gives itself: (exit code, stdout, stderr)"
    from rlaif_repro.cli import main
    with pytest.raises(SystemExit) as e: main(list(args))
    out, err = capsys.readouterr()
    return e.value.code, out, err

@pytest.mark.parametrize("cmd", SUBCOMMANDS)
def test_every_subcommand_has_help_with_description_examples_and_defaults(cmd, capsys):
    code, out, err = in_process(capsys, cmd, "--help")
    assert code == 0 and err == "", err
    usage, description = out.split("\n\n")[:2]
    assert usage.startswith(f"usage: rlaif-repro {cmd} ") and len(description.split()) >= 12, out
    examples = out.split("\nexamples:\n")[1].splitlines()
    assert examples and f"rlaif-repro {cmd} " in examples[0], examples
    if cmd in ("config", "reproduce", "stage", "plan"): assert "(default: toy)" in out   # --preset
    if cmd == "plan": assert "(default: A100-80GB)" in out and "(default: 1)" in out

def test_top_level_help_and_version():
    "The installed script: its help lists every command, and --version is the package's (settings.ini's) version"
    r = cli("--help")
    assert r.returncode == 0 and "as chapters land" not in r.stdout
    assert all(f"\n    {c} " in r.stdout for c in SUBCOMMANDS), r.stdout
    assert "show the full log (trainer steps, warnings) and tracebacks" in r.stdout
    from rlaif_repro import __version__
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"rlaif-repro {__version__}"
    assert f"\nversion = {__version__}\n" in (ROOT/"settings.ini").read_text()

@pytest.mark.parametrize("flag", [["--out", "runs/x"], ["--policies", "RLAIF"], ["--force-stage", "rm_ai"]])
def test_plan_rejects_run_options(flag, capsys):
    "`plan` reads no run folder and trains no policies: it refuses those options instead of ignoring them"
    code, _, err = in_process(capsys, "plan", "--preset", "colab", *flag)
    assert code == 2 and f"unrecognized arguments: {' '.join(flag)}" in err, err


def test_env_names_the_versions_and_devices():
    "What a bug report needs: the package, Python, the libraries it runs on (installed or not) and the devices"
    r = cli("env")
    assert r.returncode == 0, r.stderr
    for name in ("rlaif_repro", "python", "torch", "transformers", "trl", "peft", "accelerate", "datasets", "deepspeed", "vllm", "devices"):
        assert f"- {name} " in r.stdout, (name, r.stdout)

def test_a_yaml_config_runs(tmp_path):
    "A config saved as YAML (as TRL and accelerate write theirs) is read back by --config, whatever its keys say"
    r = cli("config", "--preset", "tiny", "--set", "rl.kl_coef=0.3", "--save", str(tmp_path/"cfg.yaml"))
    assert r.returncode == 0 and (tmp_path/"cfg.yaml").read_text().startswith("name: tiny"), r.stderr
    assert ExperimentConfig.from_file(tmp_path/"cfg.yaml") == ExperimentConfig.preset("tiny", rl__kl_coef=0.3)
    r = cli("stage", "data", "--config", str(tmp_path/"cfg.yaml"), "--out", str(tmp_path/"run"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path/"run"/"config.json").read_text())["rl"]["kl_coef"] == 0.3
    (tmp_path/"bad.yaml").write_text("rl: [1")
    r = cli("config", "--config", str(tmp_path/"bad.yaml"))
    assert r.returncode == 2 and "bad.yaml: not valid YAML" in r.stderr
