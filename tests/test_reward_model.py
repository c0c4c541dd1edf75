"Across chapters: SFT -> labeler soft labels -> reward model initialised from SFT (paper Table 6), loaded back by the factory."
import math
from pathlib import Path

import numpy as np
import pytest

from rlaif_repro.config import LabelerConfig, RewardModelConfig, SFTConfig
from rlaif_repro.core import set_seed
from rlaif_repro.data import load_task
from rlaif_repro.labeler import Labeler
from rlaif_repro.models import load_causal_lm, load_reward_model
from rlaif_repro.reward_model import (RewardDataError, pairwise_accuracy, reward_model_init, score_responses,
                                      train_reward_model)
from rlaif_repro.sft import generate_completions, train_sft

FIX = Path(__file__).resolve().parent / "fixtures"

@pytest.fixture(autouse=True)
def _env(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("RLAIF_REPRO_CACHE", str(tmp_path_factory.getbasetemp() / "model-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("RLAIF_REPRO_PROGRESS", "0")

def tldr():
    return load_task("tldr", "train", data_files={"prompts": FIX / "tldr/trl_lib_tldr_test.parquet",
                                                  "comparisons": FIX / "tldr/comparisons.parquet"})

def test_sft_labels_reward_model_chain(tmp_path):
    data = tldr()
    # 1. SFT a tiny policy on the posts
    cfg = SFTConfig(epochs=20, lr=3e-3, batch_size=5, micro_batch_size=5, optimizer="adamw", eval_fraction=0.0)
    sft = train_sft("tiny:gpt2", None, data["prompts"], cfg, tmp_path / "sft", device="cpu")
    assert (tmp_path / "sft" / "config.json").exists()
    samples = generate_completions(sft.model, sft.tokenizer, data["prompts"]["prompt"][:2], max_new_tokens=16)
    assert len(samples) == 2 and all(isinstance(s.text, str) for s in samples)
    # 2. AI soft labels for the comparisons from a (tiny) labeler
    lab_model, lab_tok = load_causal_lm("tiny:gpt2", device="cpu")
    labels = Labeler(lab_model.eval(), lab_tok, "tldr", LabelerConfig(variant="base_0shot", batch_size=4)).label(data["comparisons"], desc=None)
    assert {"p_1", "p_1_fwd", "p_1_rev", "human_choice"} <= set(labels.column_names)
    # 3. the AI-label RM starts from the SFT checkpoint (paper Table 6) and trains on the labels as they come
    init = reward_model_init("tldr", "ai", tmp_path / "sft", "tiny:gpt2")
    assert init == tmp_path / "sft"
    set_seed(0)
    rcfg = RewardModelConfig(epochs=2, lr=1e-3, batch_size=4, micro_batch_size=2, optimizer="adamw", max_length=160, eval_fraction=0.0)
    refs = (data["comparisons"]["context"], data["comparisons"]["response_1"])
    rm = train_reward_model(str(init), None, labels, rcfg, tmp_path / "rm", task="tldr", label="p_1",
                            eval_dataset=labels, center_on=refs, device="cpu")
    assert rm.steps == 4 and rm.eval_label == "human_choice" and 0 <= rm.eval_accuracy <= 1
    # loaded back: the same scores, and the centring and the training-time input cap survive
    back, tok = load_reward_model(tmp_path / "rm", device="cpu")
    s = score_responses(back, tok, "tldr", *refs)
    np.testing.assert_allclose(s.mean(), 0.0, atol=1e-4)
    np.testing.assert_allclose(s, score_responses(rm.model, rm.tokenizer, "tldr", *refs), atol=1e-5)
    assert math.isclose(pairwise_accuracy(back, tok, labels, "tldr"), rm.eval_accuracy)

def test_reward_model_accepts_human_labels_from_the_loader(tmp_path):
    comps = tldr()["comparisons"]
    set_seed(0)
    rcfg = RewardModelConfig(epochs=1, lr=1e-3, batch_size=5, micro_batch_size=5, optimizer="adamw", max_length=160, eval_fraction=0.0)
    rm = train_reward_model("tiny:gpt2", None, comps, rcfg, tmp_path / "rm", task="tldr", label="human_choice", device="cpu")
    assert rm.eval_accuracy is None and rm.steps == 1
    with pytest.raises(RewardDataError, match="field 'p_1'"):
        train_reward_model("tiny:gpt2", None, comps, rcfg, tmp_path / "rm2", task="tldr", label="p_1", device="cpu")
