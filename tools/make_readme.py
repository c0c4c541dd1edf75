"""Render nbs/index.ipynb to README.md (markdown cells as they are, visible code cells as python blocks).

nbdev's own `nbdev_readme` needs Quarto; this keeps README.md and the index notebook in step without it.
`tools/test.sh` fails when README.md differs from this render."""
import json, re
from pathlib import Path

root = Path(__file__).resolve().parents[1]

def render(nb_path=root/"nbs"/"index.ipynb") -> str:
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    parts = []
    for c in nb["cells"]:
        src = "".join(c["source"]).strip()
        if not src: continue
        if c["cell_type"] == "markdown": parts.append(re.sub(r"\]\(((?:images|guide)/[^)]+)\)", r"](nbs/\1)", src))   # images and guide pages live in nbs/
        elif c["cell_type"] == "code":
            lines = src.splitlines()
            if any(re.match(r"#\|\s*(hide|exporti?|default_exp)", l) for l in lines): continue
            code = "\n".join(l for l in lines if not l.startswith("#|")).strip()
            if code: parts.append(f"```python\n{code}\n```")
    return "\n\n".join(parts) + "\n"

if __name__ == "__main__":
    (root/"README.md").write_text(render(), encoding="utf-8")
