"""Build the docs site: every chapter with the outputs and plots of its executed notebook.

    python tools/run_nbs.py          # execute the chapters (the notebook tests), copies in _build/nbs
    python tools/docs.py             # render them into _docs/ (open _docs/index.html)
    python tools/docs.py --run       # both steps

The site is rendered from the executed copies that tools/run_nbs.py writes. Each chapter first goes through nbdev's own
notebook processors (`nbdev.processors`, what `nbdev_docs` runs before Quarto): every exported name gets its `show_doc`
reference (signature, parameter table with types, defaults and the docments comments, docstring) in place of its source,
backticked names become links, hidden cells and directives go. The renderer is then MkDocs with mkdocs-jupyter (nbconvert
inside), because `nbdev_docs` itself needs the Quarto binary, which cannot be installed offline from PyPI (its
`quarto-cli` package is a source distribution that downloads the binary while it builds); the glue is below: Quarto's
`{target=...}` attributes dropped, and links to nbdev's module pages pointed at the chapter pages. Cells that tests skip
(`#| eval: false`, GPU and cluster sections) show as code without outputs.
"""
import argparse, json, re, shutil, subprocess, sys, warnings
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


def _show_docs_of(module: str | None):
    """A processor that runs the `show_doc` cells in a shell holding the exported module's names: nbdev's own
    `exec_show_docs` re-runs every chapter cell that imports something, tests included, which the docs need not do"""
    from execnb.shell import CaptureShell
    from nbdev.process import Processor
    class show_docs_from_module(Processor):
        def begin(self):
            self.k = CaptureShell() if module else None
            # show_doc evaluates annotations in the module's globals: a module that imports torch only for type checking
            # (`TYPE_CHECKING`, to stay light) gets it there for the docs
            if self.k: self.k.run_cell(f"from nbdev.showdoc import show_doc\nimport importlib, torch\n"
                                       f"_m = importlib.import_module('rlaif_repro.{module}'); _m.__dict__.setdefault('torch', torch)\n"
                                       "globals().update(vars(_m))")
            if self.k and self.k.exc: raise RuntimeError(f"docs: rlaif_repro.{module} does not import ({self.k.exc!r})")
        def __call__(self, cell):
            if self.k is None or cell.cell_type != "code" or not re.search(r"^show_doc\(", cell.source, re.M): return
            self.k.cell(cell)
            if self.k.exc: raise RuntimeError(f"docs: {cell.source} failed ({self.k.exc!r})")
    return show_docs_from_module


def api_reference(path: Path) -> dict:
    "The executed notebook at `path` through nbdev's processors: `show_doc` references for exported names, links, hidden cells gone"
    from execnb.nbio import read_nb
    from nbdev.frontmatter import FrontmatterProc
    from nbdev.process import NBProcessor
    from nbdev import processors as P
    nb, m = read_nb(path), re.search(r"#\|\s*default_exp\s+(\w[\w.]*)", path.read_text())
    procs = [FrontmatterProc, P.populate_language, P.add_show_docs, P.strip_ansi, P.hide_line, P.filter_stream_, P.rm_header_dash,
             P.clean_show_doc, _show_docs_of(m.group(1) if m else None), P.rm_export, P.clean_magics, P.hide_, P.add_links,
             P.strip_hidden_metadata]
    with warnings.catch_warnings():   # "cells containing imports and other code": test cells, not run for the reference
        warnings.simplefilter("ignore")
        NBProcessor(path, procs, nb=nb).process()
    from execnb.nbio import nb2dict
    return json.loads(json.dumps(nb2dict(nb), default=list))


def _pages() -> dict:
    "nbdev's page name of each module (`toy_build.html`) -> the chapter page that documents it (`09b_toy_build.html`)"
    out = {}
    for f in (ROOT / "nbs").glob("[0-9]*.ipynb"):
        m = re.search(r"#\|\s*default_exp\s+(\w[\w.]*)", f.read_text())
        if m: out[m.group(1).replace(".", "_") + ".html"] = f.stem + ".html"
    return out


def for_the_site(text: str, pages: dict) -> str:
    "Quarto-only markup dropped, and links to nbdev's module pages pointed at the chapter pages of this site"
    text = re.sub(r"\{target=[^}]*\}", "", text)
    text = re.sub(r"\]\((guide/[\w-]+)\.md([#)])", r"](\1.html\2", text)   # a notebook's links to guide pages, as the site names them
    return re.sub(r"https://[\w.-]+\.github\.io/rlaif_repro/([\w.]+\.html)", lambda m: pages.get(m.group(1), m.group(1)), text)


API_CHECKS = {"02_data": "load_task", "05_labeler": "Labeler", "08_reward_model": "train_reward_model", "10_a2c": "train_a2c",
              "14b_pipeline": "reproduce"}   # chapter -> a name whose reference (signature and parameter table) its page must show


def build(src: Path, out: Path) -> list[Path]:
    "Render the executed notebooks in `src` into the site folder `out`; return the chapter pages written"
    nbs = sorted(src.glob("[0-9]*.ipynb"))
    if not nbs or not (src / "index.ipynb").exists():
        raise SystemExit(f"docs: no executed notebooks in {src}; run `python tools/run_nbs.py` first (or pass --run)")
    site = ROOT / "_build" / "site_src"
    shutil.rmtree(site, ignore_errors=True); (site / "docs").mkdir(parents=True)
    nav, pages = [], _pages()
    for f in [src / "index.ipynb", *nbs]:
        nb = json.loads(f.read_text()) if f.stem == "index" else api_reference(f)
        (site / "docs" / f.name).write_text(for_the_site(json.dumps(for_readers(nb), indent=1), pages))
        nav.append({("Home" if f.stem == "index" else title_of(nb, f.stem)): f.name})
    if (ROOT / "nbs" / "images").is_dir(): shutil.copytree(ROOT / "nbs" / "images", site / "docs" / "images")
    guide = ROOT / "nbs" / "guide"   # the pages the README links (a run, sweeps, chapters, library, offline, scaling, developing)
    if guide.is_dir():
        shutil.copytree(guide, site / "docs" / "guide")
        order = re.findall(r"\]\(guide/(\w+)\.md\)", json.dumps(json.loads((src / "index.ipynb").read_text())["cells"]))
        names = sorted((p.stem for p in guide.glob("*.md")), key=lambda n: (order.index(n) if n in order else len(order), n))
        nav.insert(1, {"Guide": [{re.search(r"^# (.+)$", (guide / f"{n}.md").read_text(), re.M).group(1): f"guide/{n}.md"}
                                 for n in names]})
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
    for stem, name in API_CHECKS.items():   # the reference of each, as nbdev renders it: a heading, the signature, the parameter table
        html = (out / f"{stem}.html").read_text() if (out / f"{stem}.html").exists() else ""
        ref = html[html.find(f'<h3 id="{name.lower()}">'):][:6000] if f'<h3 id="{name.lower()}">' in html else ""
        if not (f"<code> {name} (" in ref or f"<code>{name} (" in ref) or "<th><strong>Details</strong></th>" not in ref:
            raise SystemExit(f"docs: {stem}.html lacks the reference of {name} (its show_doc heading and parameter table)")
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
    guide = len(list((Path(a.out) / "guide").glob("*.html")))
    print(f"docs: {len(pages)} chapters, {guide} guide pages and a home page, {plots} plots -> {Path(a.out) / 'index.html'}")
    return 0


if __name__ == "__main__": sys.exit(main())
