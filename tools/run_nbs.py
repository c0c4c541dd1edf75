"""Run the notebooks as tests (what `nbdev_test` does) and keep each executed copy for the docs site.

    python tools/run_nbs.py                       # every notebook, 2 at a time, executed copies in _build/nbs
    python tools/run_nbs.py nbs/07_sft.ipynb      # some notebooks
    python tools/run_nbs.py --flags slow          # also run cells marked `#| slow`

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


def main(argv=None) -> int:
    cfg = get_config()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="*", help="notebooks to run (default: every notebook in nbs/)")
    p.add_argument("--flags", default="", help="space-separated test flags to run that are normally skipped (e.g. 'slow')")
    p.add_argument("--out", default=str(cfg.config_path / "_build" / "nbs"), help="folder for the executed copies")
    p.add_argument("--n-workers", type=int, default=2)
    a = p.parse_args(argv)
    files = [Path(f).absolute() for f in a.files] or sorted(Path(cfg.nbs_path).absolute().glob("[0-9]*.ipynb")) \
        + [Path(cfg.nbs_path).absolute() / "index.ipynb"]
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
    return 0


if __name__ == "__main__": sys.exit(main())
