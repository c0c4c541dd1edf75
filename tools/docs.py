"""Build the docs site: every chapter with the outputs and plots of its executed notebook.

    python tools/run_nbs.py          # execute the chapters (the notebook tests), copies in _build/nbs
    python tools/docs.py             # render them into _docs/ (open _docs/index.html)
    python tools/docs.py --run       # both steps

Notebooks are stored without outputs (nbdev's convention), so the site is rendered from the executed copies that
tools/run_nbs.py writes. The renderer is MkDocs with mkdocs-jupyter (nbconvert inside), because nbdev's own
`nbdev_docs` needs the Quarto binary, which cannot be installed offline from PyPI (its `quarto-cli` package is a source
distribution that downloads the binary while it builds). Cells that tests skip (`#| eval: false`, GPU and cluster
sections) show as code without outputs; nbdev's `#|` directive lines are dropped and `#| hide` cells left out.
"""
import argparse, json, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def title_of(nb: dict, fallback: str) -> str:
    "The chapter's title: the first `# ` heading of its first markdown cell"
    for c in nb["cells"]:
        if c["cell_type"] == "markdown":
            m = re.search(r"^# (.+)$", "".join(c["source"]), re.M)
            if m: return m.group(1).strip()
    return fallback


def for_readers(nb: dict) -> dict:
    "The notebook without nbdev's directive lines and without `#| hide` cells or cells that were only directives"
    cells = []
    for c in nb["cells"]:
        src = "".join(c["source"])
        if c["cell_type"] == "code":
            lines = src.splitlines()
            if any(re.match(r"#\|\s*hide\s*$", ln) for ln in lines): continue
            body = "\n".join(ln for ln in lines if not ln.startswith("#|")).strip("\n")
            if not body: continue
            c = {**c, "source": body}
        cells.append(c)
    return {**nb, "cells": cells}


def build(src: Path, out: Path) -> list[Path]:
    "Render the executed notebooks in `src` into the site folder `out`; return the chapter pages written"
    nbs = sorted(src.glob("[0-9]*.ipynb"))
    if not nbs or not (src / "index.ipynb").exists():
        raise SystemExit(f"docs: no executed notebooks in {src}; run `python tools/run_nbs.py` first (or pass --run)")
    site = ROOT / "_build" / "site_src"
    shutil.rmtree(site, ignore_errors=True); (site / "docs").mkdir(parents=True)
    nav = []
    for f in [src / "index.ipynb", *nbs]:
        nb = json.loads(f.read_text())
        (site / "docs" / f.name).write_text(json.dumps(for_readers(nb), indent=1))
        nav.append({("Home" if f.stem == "index" else title_of(nb, f.stem)): f.name})
    if (ROOT / "nbs" / "images").is_dir(): shutil.copytree(ROOT / "nbs" / "images", site / "docs" / "images")
    cfg = {"site_name": "rlaif_repro", "site_description": "RLAIF vs. RLHF, rebuilt as a notebook-first library",
           "docs_dir": "docs", "use_directory_urls": False, "theme": {"name": "material", "features": ["navigation.sections"]},
           "nav": nav, "plugins": ["search", {"mkdocs-jupyter": {"execute": False, "include_source": True,
                                                                 "ignore_h1_titles": False, "remove_tag_config": {}}}]}
    (site / "mkdocs.yml").write_text(json.dumps(cfg, indent=1))   # JSON is YAML
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(site / "mkdocs.yml"),
                        "-d", str(out.absolute())], capture_output=True, text=True)
    if r.returncode: raise SystemExit(f"docs: mkdocs build failed:\n{r.stdout}{r.stderr}")
    pages = [out / (f.stem + ".html") for f in nbs]
    if missing := [p.name for p in pages if not p.exists()]: raise SystemExit(f"docs: pages not written: {missing}")
    return pages


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--src", default=str(ROOT / "_build" / "nbs"), help="executed notebooks (from tools/run_nbs.py)")
    p.add_argument("--out", default=str(ROOT / "_docs"), help="the site folder")
    p.add_argument("--run", action="store_true", help="execute the notebooks first (tools/run_nbs.py)")
    a = p.parse_args(argv)
    if a.run and subprocess.run([sys.executable, str(ROOT / "tools" / "run_nbs.py"), "--out", a.src]).returncode: return 1
    pages = build(Path(a.src), Path(a.out))
    plots = sum(len(re.findall(r'src="data:image/png', p.read_text())) for p in pages)
    print(f"docs: {len(pages)} chapters and a home page, {plots} plots -> {Path(a.out) / 'index.html'}")
    return 0


if __name__ == "__main__": sys.exit(main())
