"""Every code block of README.md and of the guide pages it links (nbs/guide/*.md) runs, as written.

- The ```python blocks run in order in one namespace (the README's, then each guide page's in GUIDE order), as a
  reader pastes them into one session. The Hub models they
  name load as the stand-ins that the README's own `rlaif-repro stand-ins --preset colab` command writes
  ($RLAIF_REPRO_STAND_INS), and the Hub data as local files in the sources' formats ($RLAIF_REPRO_DATA_FILES, the
  `data_files` fixture); a file a block names (`harmless-base-test.jsonl.gz`) is put where the block looks for it.
- The shell commands (in ```bash blocks, and `rlaif-repro ...` in the text) run when they are cheap; the others are
  listed in SKIP with the reason, or the test that runs them. A new command must go in one or the other.
- The tiny run the README shows is the `tiny_run` fixture (the same command, another folder): it must write the
  figures the "What you get" table lists."""
import contextlib, gzip, io, os, re, shlex, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT/"README.md").read_text(encoding="utf-8")
GUIDE = ("runs", "sweeps", "chapters", "library", "offline", "scaling", "developing")   # the pages README links, in its order
PAGES = {name: (ROOT/"nbs"/"guide"/f"{name}.md").read_text(encoding="utf-8") for name in GUIDE}
DOCS = "\n\n".join([README, *PAGES.values()])   # every block a reader of the README and its guide meets
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)

SKIP = {   # command prefix -> why this test does not run it
    "bash tools/run.sh": "creates .venv and runs the whole toy preset (about 15 minutes): beyond CI's time budget",
    "bash tools/test.sh": "is CI itself, which runs this test",
    "rlaif-repro reproduce --preset toy ": "the whole toy preset (about 10 minutes), what tools/run.sh runs",
    "rlaif-repro reproduce --preset colab --task hh_harmless --stand-ins ":
        "the colab stage graph on stand-ins: tests/test_reproduce_presets.py::test_colab_preset_every_task runs it (8 pairs)",
    "rlaif-repro reproduce --preset single_gpu ": "needs an 80 GB GPU and the Hugging Face Hub",
    "accelerate launch --config_file ": "needs the GPUs of one or several machines",
    "DS_ACCELERATOR=cpu accelerate launch --num_processes 2 --use_deepspeed --zero_stage 3 -m rlaif_repro reproduce --preset tiny ":
        "tests/test_deepspeed.py runs exactly this command",
    "rlaif-repro stage labels --preset paper ": "labels with vLLM and a 72B labeler on GPUs",
    "rlaif-repro sweep --preset toy ": "three or nine whole toy runs (an hour or more); tests/test_sweep.py runs a two-world sweep on the tiny preset",
}
STAND_INS_CMD = "rlaif-repro stand-ins --preset colab --out stand_ins/"   # run first: the python blocks load its stand-ins
TINY_CMD = "rlaif-repro reproduce --preset tiny --out runs/tiny"          # the tiny_run fixture's command

def fenced(lang:str)->list[str]: return [body for l, body in FENCE.findall(DOCS) if l == lang]

def commands()->list[str]:
    "Every shell command of the README: the lines of its bash blocks (continuations joined, comments dropped), then `rlaif-repro ...` in the text"
    out = []
    for body in fenced("bash"):
        for line in body.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"): out.append(re.sub(r"\s+", " ", line))
    out += [c for c in re.findall(r"`(rlaif-repro [^`]+)`", DOCS) if c not in out]
    return out

def skip_reason(cmd:str)->str|None: return next((why for pre, why in SKIP.items() if cmd.startswith(pre)), None)

def run(cmd:str, cwd:Path)->tuple[int, str]:
    "Run a README command in folder `cwd`: (exit code, output). `rlaif-repro` runs in this process through `cli.main`,"
    "what the script calls (each Python start-up with torch costs seconds; tests/test_cli.py runs the script itself)"
    argv = shlex.split(cmd)
    if argv[0] == "rlaif-repro":
        from rlaif_repro.cli import main
        out = io.StringIO()
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try: code = main(argv[1:])
            except SystemExit as e: code = e.code
        return code, out.getvalue()
    assert argv[0] == "python", f"README command {cmd!r}: this test runs rlaif-repro and python commands only (or list it in SKIP)"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "RLAIF_REPRO_PROGRESS": "0"}
    r = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    return r.returncode, r.stdout + r.stderr

def test_readme_blocks_are_known():
    "The README's fences are diagrams (no language), python or bash; the fixed commands this test relies on are still there"
    assert {l for l, _ in FENCE.findall(DOCS)} <= {"", "python", "bash"}, {l for l, _ in FENCE.findall(DOCS)}
    assert len(fenced("python")) == DOCS.count("```python") >= 5
    cmds = commands()
    assert STAND_INS_CMD in cmds and TINY_CMD in cmds, cmds
    unused = [pre for pre in SKIP if not any(c.startswith(pre) for c in cmds)]
    assert not unused, f"SKIP entries that match no README command (remove them): {unused}"

def test_readme_is_short_and_links_every_guide_page():
    "README stays a front page (at most ~150 lines); each guide page is linked from it and tested here"
    assert len(README.splitlines()) <= 150, len(README.splitlines())
    assert {p.stem for p in (ROOT/"nbs"/"guide").glob("*.md")} == set(GUIDE)
    assert all(f"](nbs/guide/{name}.md)" in README for name in GUIDE), [n for n in GUIDE if f"](nbs/guide/{n}.md)" not in README]
    for name, text in PAGES.items():   # relative links between pages and to chapters resolve in the repository
        for link in re.findall(r"\]\((?!https?://|#)([^)#]+)", text):
            assert (ROOT/"nbs"/"guide"/link).resolve().exists(), f"nbs/guide/{name}.md links {link}, which does not exist"

@pytest.fixture(scope="module")
def workdir(tmp_path_factory, data_files)->Path:
    "A folder a reader works in: the README's stand-ins written there, and the local HH file its blocks name"
    d = tmp_path_factory.mktemp("readme")
    src = Path(data_files["hh_harmless"]["test"])
    with open(src, "rb") as f: raw = f.read()
    (d/"harmless-base-test.jsonl.gz").write_bytes(raw if raw[:2] == b"\x1f\x8b" else gzip.compress(raw))
    code, out = run(STAND_INS_CMD, d)
    assert code == 0 and (d/"stand_ins/stand_ins.json").exists(), out[-3000:]
    return d

def test_readme_python_blocks(workdir, data_files, monkeypatch):
    import json
    from rlaif_repro.data import DATA_FILES_ENV
    from rlaif_repro.models import STAND_IN_ENV
    monkeypatch.setenv("HF_HUB_OFFLINE", "1"); monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv(STAND_IN_ENV, str(workdir/"stand_ins"))
    monkeypatch.setenv(DATA_FILES_ENV, json.dumps({"hh_harmless": {"train": data_files["hh_harmless"]["train"]}}))
    monkeypatch.chdir(workdir)
    ns = {"__name__": "__main__"}
    for i, code in enumerate(fenced("python")):
        exec(compile(code, f"README.md python block {i + 1}", "exec"), ns)
    assert ns["train"]["comparisons"].num_rows > 0 and ns["valid"]["comparisons"].num_rows > 0
    assert str(workdir/"stand_ins") in ns["lab"].model.config._name_or_path     # the stand-in, not the Hub
    assert ns["labels"].num_rows == ns["train"]["comparisons"].num_rows and all(0 <= p <= 1 for p in ns["labels"]["p_1"])
    assert 0 <= ns["rm"].eval_accuracy <= 1 and (workdir/"runs/rm_ai").is_dir()
    assert ns["rl"].steps >= 1 and ns["rl"].evals

def test_readme_commands(workdir):
    "Every cheap command runs and exits 0; the rest are in SKIP"
    ran = []
    for cmd in commands():
        if skip_reason(cmd) or cmd in (STAND_INS_CMD, TINY_CMD): continue   # the workdir fixture ran STAND_INS_CMD
        code, out = run(cmd, workdir)
        assert code == 0, f"README command {cmd!r} exited {code}: {out[-2000:]}"
        ran.append(cmd)
    assert any(c.startswith("rlaif-repro config ") for c in ran) and any(c.startswith("rlaif-repro plan ") for c in ran), ran
    assert (workdir/"cfg.json").exists() and (workdir/"launch/accelerate_multinode_zero3.yaml").exists()

def test_what_you_get_matches_a_tiny_run(tiny_run):
    "The figures the README lists are the figures a run writes (the tiny_run fixture runs TINY_CMD with another --out)"
    section = PAGES["runs"].split("\n## ")[0]
    listed = set(re.findall(r"^\| `(\w+)` \|", section, re.M))
    assert listed == {p.stem for p in (tiny_run/"figures").glob("*.png")}, listed
    assert all((tiny_run/"figures"/f"{f}.pdf").exists() for f in listed)
    assert (tiny_run/"report.md").exists() and (tiny_run/"config.json").exists()
