"""What a tiny run leaves for its readers: files and folders colleagues can read (0644/0755 under umask 022), and a
report.md with readable headings, run-relative paths and stage-time notes that say what each 0 means."""
import os, re, shutil, stat, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def cli(*args):
    exe = shutil.which("rlaif-repro", path=str(Path(sys.executable).parent)) or shutil.which("rlaif-repro")
    assert exe, "the rlaif-repro console script is not installed (pip install -e .)"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RLAIF_REPRO_PROGRESS": "0"}
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800,
                          preexec_fn=lambda: os.umask(0o022))   # the usual umask, whatever the test runner's is

@pytest.fixture(scope="module")
def run(tmp_path_factory)->Path:
    "A tiny run written under umask 022, then its report rendered again by a second invocation (every other stage reused)"
    out = tmp_path_factory.mktemp("report")/"tiny"
    for extra in ([], ["--force-stage", "report"]):
        r = cli("reproduce", "--preset", "tiny", "--out", out, *extra)
        assert r.returncode == 0, r.stderr[-3000:]
    return out

def test_run_outputs_are_readable_by_others(run):
    "Every file 0644 and every folder 0755: config.json, report.md, figures, stage folders, model weights (safetensors writes 0600)"
    assert {"config.json", "report.md", "figures", "sft", "rm_ai", "rl_RLAIF", "eval", "report"} <= {p.name for p in run.iterdir()}
    assert list(run.glob("rm_ai/*/model/*.safetensors")) and list(run.glob("figures/*.png"))
    bad = []
    for p in [run, *run.rglob("*")]:
        st = p.lstat()
        want = 0o755 if stat.S_ISDIR(st.st_mode) else 0o644
        if stat.S_IMODE(st.st_mode) != want: bad.append(f"{oct(stat.S_IMODE(st.st_mode))} {p.relative_to(run)}")
    assert not bad, f"{len(bad)} paths with another mode, e.g. {bad[:5]}"

def test_toy_world_parts_are_readable_by_others(tmp_path):
    "A world part built through `build_once` (a `mkdtemp` folder renamed into place) is 0755 with 0644 files"
    from rlaif_repro.toy.build import ensure_part
    old = os.umask(0o022)
    try: d = ensure_part("tokenizer", seed=0, root=tmp_path)
    finally: os.umask(old)
    assert stat.S_IMODE(d.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in d.iterdir()} == {0o644}

def tables(text:str)->list[list[str]]:
    "The header cells of every markdown table"
    lines = text.splitlines()
    return [[c.strip() for c in l.strip("|").split("|")] for l, nxt in zip(lines, lines[1:]) if l.startswith("|") and nxt.startswith("|---")]

def test_report_headings_paths_and_stage_notes(run):
    text = (run/"report.md").read_text()
    heads = tables(text)
    assert len(heads) >= 10
    raw = [c for h in heads for c in h if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", c)]    # snake_case: a column name, not a heading
    assert not raw, f"raw column names as headings: {raw}"
    assert str(run) not in text and str(run.resolve()) not in text and str(Path.home()) not in text and "/work/" not in text
    rm = text.split("## Reward-model accuracy on held-out")[1].split("\n\n")[1]
    assert "`toy:policy@0`" in rm                                         # the toy world's SFT policy by its model name
    times = text.split("## Stage times")[1]
    rows = {r.split("|")[1].strip(): [c.strip() for c in r.strip("|").split("|")] for r in times.splitlines() if r.startswith("| ") and "---" not in r}
    assert rows["sft"][1] == "0" and rows["sft"][3].startswith("nothing to train: the toy world's SFT policy")
    assert rows["rl_RLAIF"][1] == "0" and rows["rl_RLAIF"][3].startswith("reused")   # the second invocation reused it ...
    assert float(rows["rl_RLAIF"][2]) > 0                                              # ... and says what it took when computed
    assert "0 = reused from the cache" not in text

def test_report_decides_findings_by_tests_and_shows_the_room_above_sft(run):
    "Every finding has a verdict from its test; the ceiling, lengths, reward models against the truth and the judge step are reported"
    from rlaif_repro.findings import FINDINGS, VERDICTS
    text = (run/"report.md").read_text()
    fnd = text.split("## The paper's findings in this run")[1].split("\n## ")[0]
    head = next(l for l in fnd.splitlines() if l.startswith("| finding"))
    assert [c.strip() for c in head.strip("|").split("|")][:3] == ["finding", "verdict", "test"]
    rows = [[c.strip() for c in l.strip("|").split("|")] for l in fnd.splitlines() if l.startswith("| ") and l != head and "---" not in l]
    assert [r[0] for r in rows] == list(FINDINGS.values()) and all(r[1] in VERDICTS for r in rows), rows
    assert "| gold-optimal vs SFT |" in text                                # the room above SFT, ranked by the same raters
    lengths = text.split("## Response length")[1].split("\n## ")[0]
    assert "| SFT |" in lengths and "paper (characters)" in lengths
    truth = text.split("## Reward models against the truth")[1].split("\n## ")[0]
    assert "`rm_ai`" in truth and "`rm_human`" in truth and "SFT samples (where RL starts)" in truth
    rl = text.split("## RL runs")[1].split("\n## ")[0]
    assert "judged win rate vs SFT" in rl and "Candidates (step: validation reward, judged win rate)" in rl
    for f in ("eval/*/items.csv", "eval/*/rm_gold.csv", "rm_ai/*/heldout.csv", "studies/*/labeler_size_pairs.csv"):
        assert list(run.glob(f)), f

def test_items_table_pairs_each_response_with_its_own_gold_utility(run):
    "eval/items.csv: one row per (item, policy), its length and gold utility those of that policy's response to that item"
    import json
    import pandas as pd
    from rlaif_repro.toy.build import ToyWorld
    ev = next(run.glob("eval/*/items.csv")).parent
    items = pd.read_csv(ev/"items.csv").set_index(["item_id", "policy"])
    world, cfg = ToyWorld(0), json.loads((run/"config.json").read_text())
    assert cfg["data"]["world_seed"] == 0
    resp = [json.loads(line) for line in (ev/"responses.jsonl").read_text().splitlines()]
    for it in resp:
        for p in ("SFT", "RLAIF", "gold-optimal"):
            row = items.loc[(it["id"], p)]
            assert row["chars"] == len(it[p]) and abs(row["gold"] - world.utility(it["context"], it[p])) < 1e-9, (it["id"], p)
        assert items.loc[(it["id"], "gold-optimal"), "gold"] >= items.loc[(it["id"], "SFT"), "gold"] - 1e-9
