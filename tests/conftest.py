"Shared fixtures: stand-ins of every preset's Hub models, local source files for the real tasks, one finished tiny run"
import os, shutil, subprocess, sys
from pathlib import Path
import pytest
from filelock import FileLock

from source_fixtures import write_hh, write_tldr

ROOT = Path(__file__).resolve().parents[1]
HH_HARMLESS_TEST = ROOT.parent / "shared/data/hh-rlhf/harmless-base-test.jsonl.gz"
HH_FIXTURE = ROOT / "tests/fixtures/hh/harmless-base-test.jsonl"

@pytest.fixture(scope="session")
def stand_ins(tmp_path_factory)->Path:
    "One folder with the stand-ins of every Hub model of the colab, single_gpu and paper presets, for every task"
    from rlaif_repro.config import ExperimentConfig
    from rlaif_repro.models import write_stand_ins
    names = {n for p in ("colab", "single_gpu", "paper") for t in ("tldr", "hh_helpful", "hh_harmless")
             for n in ExperimentConfig.preset(p, task=t).model_names().values()}
    out = tmp_path_factory.mktemp("stand_ins")
    write_stand_ins(sorted(names), out)
    return out

@pytest.fixture(scope="session")
def data_files(tmp_path_factory)->dict:
    "`{task: data_files}` for the three real tasks: made-up files in each source's format, and the real HH harmless test set when it lies beside the checkout"
    d = tmp_path_factory.mktemp("sources")
    helpful = {"train": str(write_hh(d/"helpful-base/train.jsonl.gz", seed=1)), "test": str(write_hh(d/"helpful-base/test.jsonl.gz", seed=2))}
    harmless_test = HH_HARMLESS_TEST if HH_HARMLESS_TEST.exists() else HH_FIXTURE
    harmless = {"train": str(write_hh(d/"harmless-base/train.jsonl.gz", seed=3)), "test": str(harmless_test)}
    return {"tldr": write_tldr(d/"tldr"), "hh_helpful": helpful, "hh_harmless": harmless}

def comparable_report(run:Path)->str:
    "report.md without its folder and the stage-times table (the parts that describe this invocation, not the results)"
    return (run/"report.md").read_text().split("## Stage times")[0].replace(str(run), "<run>")

def once(tmp_path_factory, name:str)->tuple[Path, FileLock]:
    "A folder every pytest-xdist worker of this session shares, and the lock that makes one worker fill it"
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"): root = root.parent   # the workers' base folders share this parent
    return root/name, FileLock(str(root/f"{name}.lock"))

@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory)->Path:
    "One uninterrupted `rlaif-repro reproduce --preset tiny` in one process: the run other runs must match (made once per session)"
    d, lock = once(tmp_path_factory, "tiny_run")
    with lock:
        if not (d/"DONE").exists():
            shutil.rmtree(d, ignore_errors=True)
            _tiny_run(d/"baseline"); (d/"DONE").touch()
    return d/"baseline"

def _tiny_run(run:Path):
    r = subprocess.run([str(Path(sys.executable).parent/"rlaif-repro"), "reproduce", "--preset", "tiny", "--out", str(run)],
                       capture_output=True, text=True, timeout=1800, cwd=ROOT,
                       env={**os.environ, "HF_HUB_OFFLINE": "1", "RLAIF_REPRO_PROGRESS": "0"})
    assert r.returncode == 0, r.stderr[-3000:]
