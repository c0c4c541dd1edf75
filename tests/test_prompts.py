"""Golden files: the exact text of every labeling and scoring prompt, rendered on each task's demo pair.

Any change to a prompt shows up as a changed file under tests/golden/prompts/ in review. After an intended
change, regenerate the files and review the diff:

    python tests/test_prompts.py --regen
    # or: RLAIF_REGEN_GOLDEN=1 pytest tests/test_prompts.py
"""
import difflib, os, sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))   # `python tests/test_prompts.py` from a checkout

from rlaif_repro.config import PRESETS, ExperimentConfig
from rlaif_repro.prompts import demo_renders, list_variants

GOLDEN = ROOT / "tests" / "golden" / "prompts"
RENDERS = demo_renders()
REGEN_HINT = "regenerate with `python tests/test_prompts.py --regen` and review the diff"

def _read(path:Path)->str:
    with open(path, encoding="utf-8", newline="") as f: return f.read()

def regen()->list[str]:
    "Rewrite every golden file from the current prompts and delete stale ones; returns the names written"
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for p in GOLDEN.glob("*.txt"):
        if p.name not in RENDERS: p.unlink()
    for name, text in RENDERS.items():
        with open(GOLDEN / name, "w", encoding="utf-8", newline="") as f: f.write(text)
    return sorted(RENDERS)

if os.environ.get("RLAIF_REGEN_GOLDEN") == "1": regen()

@pytest.mark.parametrize("name", sorted(RENDERS))
def test_prompt_matches_golden(name):
    path = GOLDEN / name
    assert path.exists(), f"{path} is missing; {REGEN_HINT}"
    want, got = _read(path), RENDERS[name]
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), f"golden/{name}", "rendered now"))
        pytest.fail(f"the prompt {name} changed; {REGEN_HINT}\n{diff}")

def test_no_stale_golden_files():
    stale = sorted(p.name for p in GOLDEN.glob("*.txt") if p.name not in RENDERS)
    assert not stale, f"golden files for prompts that no longer exist: {stale}; {REGEN_HINT}"

def test_every_preset_labels_with_an_available_variant():
    for name in PRESETS:
        cfg = ExperimentConfig.preset(name)
        task = cfg.data.task
        assert cfg.labeler.variant_for(task) in list_variants(task), (name, task)

def test_exemplar_contexts_are_serialized_like_the_data():
    data = pytest.importorskip("rlaif_repro.data")
    from rlaif_repro.prompts import EXEMPLARS, DEMO_PAIRS
    posts = [e.context for t in ("tldr", "toy") for e in EXEMPLARS[t]] + [DEMO_PAIRS[t]["context"] for t in ("tldr", "toy")]
    for c in posts:
        sub, rest = c.removeprefix("SUBREDDIT: r/").split("\n\nTITLE: ", 1)
        title, post = rest.split("\n\nPOST: ", 1)
        assert data.tldr_context(sub, title, post) == c
    dialogues = [e.context for t in ("hh_helpful", "hh_harmless") for e in EXEMPLARS[t]] + [DEMO_PAIRS[t]["context"] for t in ("hh_helpful", "hh_harmless")]
    for c in dialogues:
        assert data.split_transcript("\n\n" + c + " a reply") == (c, "a reply")

if __name__ == "__main__":
    if sys.argv[1:] == ["--regen"]: print(f"wrote {len(regen())} golden files to {GOLDEN}")
    else: sys.exit(f"usage: python {sys.argv[0]} --regen")
