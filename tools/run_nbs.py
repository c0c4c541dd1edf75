"""Run the notebooks as tests (what `nbdev_test` does) and keep each executed copy for the docs site.

    python tools/run_nbs.py                       # every notebook, 2 at a time, executed copies in _build/nbs
    python tools/run_nbs.py nbs/07_sft.ipynb      # some notebooks
    python tools/run_nbs.py --flags slow          # also run cells marked `#| slow`
    python tools/run_nbs.py --store               # run every chapter, then store its outputs in nbs/ (commit them)
    python tools/run_nbs.py --check-stored        # no run: do the executed copies in _build/nbs match what nbs/ stores?

Cells are skipped exactly as `nbdev_test` skips them (the `tst_flags` of settings.ini and `#| eval: false`), and they
stay in the executed copy as code without outputs: the docs show GPU and cluster sections as code. `nbdev_test` only
reports pass/fail, so the docs would need a second execution of every chapter; this runs each chapter once for both.
"""
import argparse, os, sys, time
from pathlib import Path

from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from fastcore.parallel import parallel
from nbdev.config import get_config
from nbdev.frontmatter import FrontmatterProc
from nbdev.process import NBProcessor


def _skipper(flags: set):
    "The `preproc` of `CaptureShell.run_all`: True for a cell that must not run (nbdev_test's rule)"
    def skip(cell):
        if cell.cell_type != "code": return True
        if "nbdev_export" + "(" in cell.source: return True
        direc = getattr(cell, "directives_", {}) or {}
        if direc.get("eval:", [""])[0].lower() == "false": return True
        return bool(flags & direc.keys())
    return skip


def run_one(fn: Path, flags: set, out: Path) -> tuple[bool, float]:
    "Execute notebook `fn`; write the raw notebook with the outputs to `out/fn.name` (also when a cell fails)"
    os.environ["IN_TEST"] = "1"
    nb = NBProcessor(fn, procs=FrontmatterProc, process=True).nb   # the directives that decide which cells run
    raw = read_nb(fn)                                                # what is written: the notebook as stored, plus outputs
    shell, t0, ok = CaptureShell(fn), time.time(), True
    cwd, env = os.getcwd(), dict(os.environ)   # a worker runs several chapters: each starts from the environment the runner got
    try:
        os.chdir(fn.parent)
        shell.run_all(nb, exc_stop=True, preproc=_skipper(flags))
    except Exception:
        sys.stderr.write(shell.prettytb(fname=fn) + "\n"); ok = False
    finally:
        os.chdir(cwd); os.environ.clear(); os.environ.update(env)
    for rc, pc in zip(raw.cells, nb.cells):
        if rc.cell_type == "code": rc.outputs, rc.execution_count = pc.get("outputs", []), pc.get("execution_count")
    out.mkdir(parents=True, exist_ok=True)
    write_nb(raw, out / fn.name)
    return ok, time.time() - t0


KEEP_MIME = ("image/png", "text/markdown", "text/html", "text/plain")   # what a reader on GitHub or the site sees; widget views go
MAX_OUTPUT = 60_000   # characters of one text output: larger ones (long tables, dumps) are not stored
MAX_IMAGE = 1_000_000   # characters of one plot's base64 PNG (about 750 KB): every plot of the chapters fits
MAX_STREAM_LINES = 40


def for_storage(outputs: list) -> list:
    "The outputs worth storing in the source notebook: results and plots, stdout kept short; stderr (warnings, progress bars) and errors dropped"
    out = []
    for o in outputs:
        if o.get("output_type") == "stream":
            if o.get("name") != "stdout": continue
            lines = "".join(o.get("text", "")).splitlines(True)
            if len(lines) > MAX_STREAM_LINES: lines = lines[:MAX_STREAM_LINES] + [f"... ({len(lines) - MAX_STREAM_LINES} more lines)\n"]
            text = "".join(lines)
            if len(text) <= MAX_OUTPUT: out.append({"output_type": "stream", "name": "stdout", "text": text})
        elif o.get("output_type") in ("display_data", "execute_result"):
            data = {k: v for k, v in o.get("data", {}).items() if k in KEEP_MIME}
            if "image/png" in data: data = {k: data[k] for k in ("image/png", "text/plain") if k in data}
            if "text/html" in data and len("".join(data["text/html"])) > MAX_OUTPUT: data.pop("text/html")
            if not data or sum(len("".join(v)) for v in data.values()) > (MAX_IMAGE if "image/png" in data else MAX_OUTPUT): continue
            out.append({"output_type": "display_data", "data": data, "metadata": {}})
    return out


def _code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def store(executed: Path, source: Path) -> int:
    "Copy the outputs of an executed chapter into its source notebook (cells matched in order, sources checked); the plots stored"
    if not executed.exists(): raise SystemExit(f"{executed}: no executed copy of {source.name}; run it first")
    ex, src = read_nb(executed), read_nb(source)
    ec, sc = _code_cells(ex), _code_cells(src)
    if [c.source for c in ec] != [c.source for c in sc]:
        raise SystemExit(f"{executed} was executed from another version of {source}: run it again")
    for e, c in zip(ec, sc): c.outputs, c.execution_count = for_storage(e.get("outputs", [])), None
    write_nb(src, source)
    return sum("image/png" in o.get("data", {}) for c in sc for o in c.outputs)


def figure_cells(nb) -> list[int]:
    "The code cells (by position) whose outputs hold a plot"
    return [i for i, c in enumerate(_code_cells(nb)) if any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]


def check_stored(executed_dir: Path, files: list[Path]) -> list[str]:
    "Where the stored outputs of nbs/ differ from a fresh execution in what matters: which cells plot, and no stored errors"
    bad = []
    for f in files:
        ex_path = executed_dir / f.name
        if not ex_path.exists(): bad.append(f"{f.name}: no executed copy in {executed_dir}"); continue
        ex, src = read_nb(ex_path), read_nb(f)
        if [c.source for c in _code_cells(ex)] != [c.source for c in _code_cells(src)]:
            bad.append(f"{f.name}: the executed copy comes from another version of the notebook"); continue
        if any(o.get("output_type") == "error" for c in _code_cells(src) for o in c.get("outputs", [])):
            bad.append(f"{f.name}: stores an error output")
        if (a := figure_cells(src)) != (b := figure_cells(ex)):
            bad.append(f"{f.name}: plots stored in code cells {a}, a fresh run plots in {b}")
    return bad


def main(argv=None) -> int:
    cfg = get_config()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="*", help="notebooks to run (default: every notebook in nbs/)")
    p.add_argument("--flags", default="", help="space-separated test flags to run that are normally skipped (e.g. 'slow')")
    p.add_argument("--out", default=str(cfg.config_path / "_build" / "nbs"), help="folder for the executed copies")
    p.add_argument("--n-workers", type=int, default=2)
    p.add_argument("--store", action="store_true", help="after a run where every notebook passed, store the outputs in nbs/")
    p.add_argument("--check-stored", action="store_true", help="run nothing: compare the executed copies in --out with nbs/")
    a = p.parse_args(argv)
    files = [Path(f).absolute() for f in a.files] or sorted(Path(cfg.nbs_path).absolute().glob("[0-9]*.ipynb")) \
        + [Path(cfg.nbs_path).absolute() / "index.ipynb"]
    if a.check_stored:
        if bad := check_stored(Path(a.out), files):
            print("stored outputs are stale:\n  " + "\n  ".join(bad) + "\nrun `python tools/run_nbs.py --store`, then "
                  "`nbdev_clean`, and commit", file=sys.stderr); return 1
        print(f"stored outputs of {len(files)} notebooks match a fresh run (plots in the same cells, no errors)"); return 0
    flags = set(cfg.tst_flags.split()) - set(a.flags.split())
    sys.path.insert(0, str(cfg.config_path))
    # the workers find the function by module name: this file imported as `run_nbs`, since running a notebook replaces
    # a worker's `__main__` (IPython's namespace), where its next notebook would no longer find a function of this script
    sys.path.insert(0, str(Path(__file__).parent))
    from run_nbs import run_one as worker
    res = parallel(worker, files, flags=flags, out=Path(a.out).absolute(), n_workers=min(a.n_workers, len(files)),
                   pause=0.01, threadpool=False)
    for (ok, t), f in sorted(zip(res, files), key=lambda x: -x[0][1]):
        print(f"{f.name}: {t:.0f} s{'' if ok else '  FAILED'}")
    if failed := [f.name for (ok, _), f in zip(res, files) if not ok]:
        print(f"notebook tests failed: {', '.join(failed)}", file=sys.stderr); return 1
    print(f"all {len(files)} notebooks passed; executed copies in {a.out}")
    if a.store:
        plots = sum(store(Path(a.out) / f.name, f) for f in files)
        print(f"outputs stored in {len(files)} notebooks ({plots} plots); run nbdev_clean, then commit")
    return 0


if __name__ == "__main__": sys.exit(main())
