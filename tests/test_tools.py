"""The repository tools a contributor runs: stored notebook outputs (tools/run_nbs.py --store / --check-stored)."""
import json, sys
from pathlib import Path
from execnb.nbio import read_nb, write_nb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"tools"))
import run_nbs   # noqa: E402

PNG = {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}, "metadata": {}}

def test_for_storage_keeps_results_and_plots_only():
    outs = [{"output_type": "stream", "name": "stderr", "text": "Warning: ...\n"},
            {"output_type": "stream", "name": "stdout", "text": "".join(f"line {i}\n" for i in range(100))},
            {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": "0.5", "text/html": "<b>0.5</b>"}, "metadata": {}},
            {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "Widget"}, "metadata": {}},
            {"output_type": "display_data", "data": {"text/plain": "x" * (run_nbs.MAX_OUTPUT + 1)}, "metadata": {}},
            {"output_type": "error", "ename": "ValueError", "evalue": "boom", "traceback": []}, PNG]
    kept = run_nbs.for_storage(outs)
    assert [o["output_type"] for o in kept] == ["stream", "display_data", "display_data", "display_data"]
    assert kept[0]["name"] == "stdout" and kept[0]["text"].count("\n") == run_nbs.MAX_STREAM_LINES + 1 and "60 more lines" in kept[0]["text"]
    assert kept[1]["data"] == {"text/plain": "0.5", "text/html": "<b>0.5</b>"} and "execution_count" not in kept[1]
    assert kept[2]["data"] == {"text/plain": "Widget"}   # the widget's view needs state that is not stored: its text stays
    assert "image/png" in kept[3]["data"]

def _nb(path:Path, sources:list[str], outputs:dict[int, list]|None=None)->Path:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# A chapter"}]
    cells += [{"cell_type": "code", "metadata": {}, "source": s, "outputs": (outputs or {}).get(i, []), "execution_count": None}
              for i, s in enumerate(sources)]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path

def test_store_then_check(tmp_path):
    src, ex_dir = tmp_path/"nbs", tmp_path/"executed"
    src.mkdir(); ex_dir.mkdir()
    code = ["x = 1", "plot()", "print(x)"]
    nb = _nb(src/"01_a.ipynb", code)
    _nb(ex_dir/"01_a.ipynb", code, {1: [PNG], 2: [{"output_type": "stream", "name": "stdout", "text": "1\n"}]})
    assert run_nbs.check_stored(ex_dir, [nb]) == ["01_a.ipynb: plots stored in code cells [], a fresh run plots in [1]"]
    assert run_nbs.store(ex_dir/"01_a.ipynb", nb) == 1
    assert run_nbs.figure_cells(read_nb(nb)) == [1] and run_nbs.check_stored(ex_dir, [nb]) == []
    stored = read_nb(nb); stored.cells[1].outputs.append({"output_type": "error", "ename": "E", "evalue": "", "traceback": []})
    write_nb(stored, nb)
    assert run_nbs.check_stored(ex_dir, [nb]) == ["01_a.ipynb: stores an error output"]
    _nb(ex_dir/"01_a.ipynb", ["x = 2", "plot()", "print(x)"], {1: [PNG]})   # executed from an edited notebook
    assert "another version" in run_nbs.check_stored(ex_dir, [nb])[0]

def test_chapters_are_stored_with_their_plots():
    "What a reader on GitHub or in Colab sees before running anything: the figures chapter with its figures"
    assert run_nbs.figure_cells(read_nb(ROOT/"nbs"/"13_figures.ipynb")), "nbs/13_figures.ipynb stores no plots: run tools/run_nbs.py --store"
    sizes = {f.name: f.stat().st_size for f in (ROOT/"nbs").glob("*.ipynb")}
    assert max(sizes.values()) < 3_000_000, sizes   # outputs kept small: no weights or huge tables
