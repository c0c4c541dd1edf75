"""The chapters' "On a GPU (Colab)" sections (cells marked `#| gpu`), run exactly as written: the Hub models they name
load as stand-ins ($RLAIF_REPRO_STAND_INS) and the Hub data as local files ($RLAIF_REPRO_DATA_FILES), so the cells cannot rot."""
import json
from pathlib import Path

from rlaif_repro.data import DATA_FILES_ENV
from rlaif_repro.models import STAND_IN_ENV

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = {"05_labeler": "labeler", "07_sft": "sft", "08_reward_model": "reward_model", "10_a2c": "a2c"}

def gpu_cells(chapter:str)->list[str]:
    nb = json.loads((ROOT/"nbs"/f"{chapter}.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    return [c for c in cells if c.startswith("#| gpu")]

def run_gpu_section(chapter:str, tmp_path, monkeypatch, stand_ins, data_files)->dict:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")                 # the cells drop it; monkeypatch puts it back afterwards
    monkeypatch.setenv(STAND_IN_ENV, str(stand_ins))
    monkeypatch.setenv(DATA_FILES_ENV, json.dumps(data_files))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)                               # the cells write runs/colab/... where they run
    ns = {"__name__": "__main__"}
    exec(f"from rlaif_repro.{CHAPTERS[chapter]} import *\nimport pandas as pd", ns)   # what the chapter's export cells define
    cells = gpu_cells(chapter)
    assert len(cells) >= 2, f"{chapter}: expected a GPU section with at least 2 cells marked #| gpu"
    for i, code in enumerate(cells):
        exec(compile(code.replace("#| gpu", "", 1), f"{chapter}.ipynb, GPU cell {i + 1}", "exec"), ns)
    return ns

def test_labeler_gpu_section(tmp_path, monkeypatch, stand_ins, data_files):
    ns = run_gpu_section("05_labeler", tmp_path, monkeypatch, stand_ins, data_files)
    labels = ns["gpu_labels"]
    assert labels.num_rows > 0 and "p_1" in labels.column_names and ns["gpu_lab"].name == "Qwen/Qwen2.5-3B-Instruct"
    assert str(stand_ins) in ns["gpu_lab"].model.config._name_or_path     # the stand-in, not the Hub
    assert (tmp_path/"runs/colab/labels").is_dir()

def test_sft_gpu_section(tmp_path, monkeypatch, stand_ins, data_files):
    ns = run_gpu_section("07_sft", tmp_path, monkeypatch, stand_ins, data_files)
    assert ns["gpu_sft"].steps == 10 and ns["gpu_sft"].eval_loss is not None

def test_reward_model_gpu_section(tmp_path, monkeypatch, stand_ins, data_files):
    ns = run_gpu_section("08_reward_model", tmp_path, monkeypatch, stand_ins, data_files)
    assert ns["gpu_rm"].eval_accuracy is not None and (tmp_path/"runs/colab/rm_human").is_dir()

def test_a2c_gpu_section(tmp_path, monkeypatch, stand_ins, data_files):
    ns = run_gpu_section("10_a2c", tmp_path, monkeypatch, stand_ins, data_files)
    assert ns["gpu_rl"].steps == 4
