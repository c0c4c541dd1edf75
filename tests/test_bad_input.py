"""Bad input gets one clear line naming the file, row or field, with exit code 2, and as early as it can be known: the
cases of the bad-input probe, table-driven and in-process where a subprocess is not needed."""
import json, math, os, subprocess, sys
from pathlib import Path

import pytest
import torch

from rlaif_repro.cli import main

ROOT = Path(__file__).parent.parent
HH = ROOT.parent/"shared"/"data"/"hh-rlhf"/"harmless-base-test.jsonl.gz"


@pytest.fixture
def files(tmp_path):
    "Bad files of every kind the probe used, in one folder"
    (tmp_path/"mapping.json").write_text('{"train": 3}')
    (tmp_path/"binary.json").write_bytes(bytes(range(200, 256)) * 4)
    (tmp_path/"a_folder").mkdir()
    post = {"id": "t3_1", "subreddit": "cooking", "title": "bread", "post": "My bread is too hard.", "summary": "hard bread"}
    (tmp_path/"posts.jsonl").write_text(json.dumps(post) + "\n" + json.dumps(post | {"post": "Another post."}) + "\n")
    return tmp_path


CASES = [   # (id, argv with {d} for the files' folder, what the one line must say)
    ("tldr data_files as a path", ["data", "--task", "tldr", "--split", "test", "--data-files", "{d}/mapping.json"],
     "data_files for tldr must be a mapping with keys 'prompts' and/or 'comparisons'"),
    ("data_files malformed JSON", ["data", "--task", "tldr", "--split", "test", "--data-files", '{{"prompts": '],
     "--data-files '{\"prompts\": ': not valid JSON"),
    ("a folder as a data file", ["data", "--task", "hh_harmless", "--split", "test", "--data-files", "{d}/a_folder"],
     "a_folder: a folder, not a data file"),
    ("a binary config file", ["config", "--config", "{d}/binary.json"], "binary.json: not a text file (a config is JSON)"),
    ("a folder as a config file", ["config", "--config", "{d}/a_folder"], "a_folder: a folder, not a config file"),
    ("a seed past 32 bits", ["config", "--preset", "tiny", "--set", "seed=99999999999999999999999"],
     "ExperimentConfig.seed=99999999999999999999999 is invalid: must be in [0, 4294967295]"),
    ("a run name that is not a folder name", ["config", "--preset", "tiny", "--set", "name=.."], "ExperimentConfig.name='..' is invalid"),
    ("duplicate post ids", ["data", "--task", "tldr", "--split", "train", "--data-files", '{{"prompts": "{d}/posts.jsonl"}}'],
     "posts.jsonl, line 2: id 't3_1' again (first at line 1)"),
    ("a toy model that does not exist", ["stage", "data", "--preset", "tiny", "--set", "models.policy=toy:../../etc", "--out", "{d}/run"],
     "'../../etc' is not a toy model"),
]


@pytest.mark.parametrize("argv,says", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_with_exit_code_2(files, capsys, argv, says):
    rc = main([a.format(d=files) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2, err
    assert len(err) == 1 and says in err[0], err


def test_preset_and_config_together_are_refused(files, capsys):
    with pytest.raises(SystemExit) as e: main(["config", "--config", str(files/"mapping.json"), "--preset", "tiny"])
    assert e.value.code == 2 and "give --preset or --config, not both" in capsys.readouterr().err


@pytest.mark.parametrize("setting,says", [("data.limit=3", "rl.batch_size=4: 3 training prompts, fewer than one RL batch"),
                                          ("eval.raters_per_item=500", "eval.raters_per_item=500: the evaluation's rater pool has")],
                         ids=["prompts fewer than one RL batch", "more raters per item than the pool"])
def test_what_the_data_cannot_give_is_said_before_any_model_trains(tmp_path, capsys, setting, says):
    rc = main(["reproduce", "--preset", "tiny", "--set", setting, "--out", str(tmp_path/"run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and "this run cannot finish: " in err[-1] and says in err[-1], err[-3:]
    assert sorted(p.name for p in (tmp_path/"run").iterdir() if p.is_dir() and not p.name.startswith(".")) == ["data"]   # nothing trained


def test_a_model_with_inf_weights_is_named(tmp_path):
    from rlaif_repro.models import load_causal_lm
    model, tok = load_causal_lm("tiny:gpt2", device="cpu")
    with torch.no_grad(): model.transformer.h[0].mlp.c_fc.weight[0, 0] = math.inf
    model.save_pretrained(tmp_path/"m"); tok.save_pretrained(tmp_path/"m")
    with pytest.raises(ValueError, match=r"causal LM '.*m': its weight transformer\.h\.0\.mlp\.c_fc\.weight holds NaN or Inf"):
        load_causal_lm(tmp_path/"m", device="cpu")


@pytest.mark.skipif(not HH.exists(), reason="the real HH harmless-base test set lies beside the checkout in ../shared")
def test_the_tiny_preset_runs_hh_harmless_on_the_real_file(tmp_path):
    "HH's 2-shot labeling prompts need ~1,100-2,500 tokens of the tiny tokenizer: the tiny preset's labelers read them whole"
    files = json.dumps({"train": str(HH), "test": str(HH)})
    r = subprocess.run([str(Path(sys.executable).parent/"rlaif-repro"), "reproduce", "--preset", "tiny", "--task", "hh_harmless",
                        "--set", f"data.data_files={files}", "--out", str(tmp_path/"run")], capture_output=True, text=True, timeout=1200,
                       env={**os.environ, "HF_HUB_OFFLINE": "1", "RLAIF_REPRO_PROGRESS": "0"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path/"run"/"report.md").read_text().startswith("# RLAIF vs. RLHF on `hh_harmless`")


@pytest.mark.skipif(not HH.exists(), reason="the real HH harmless-base test set lies beside the checkout in ../shared")
def test_a_labeling_prompt_that_cannot_fit_is_said_before_any_model_trains(tmp_path, capsys):
    "HH's few-shot prompts against a labeler that reads 1,024 tokens: every variant that cannot fit, named after the data stage"
    files = json.dumps({"train": str(HH), "test": str(HH)})
    rc = main(["reproduce", "--preset", "tiny", "--task", "hh_harmless", "--set", f"data.data_files={files}",
               "--set", "labeler.max_input_tokens=1024", "--out", str(tmp_path/"run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and "labeler tiny:gpt2-long reads at most 1024 tokens" in err[-1] and "base_2shot " in err[-1], err[-3:]
    assert sorted(p.name for p in (tmp_path/"run").iterdir() if p.is_dir() and not p.name.startswith(".")) == ["data"]
