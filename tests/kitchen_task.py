"""A small task that is not part of the package: kitchen questions, answered in one line.

Everything the package needs to know about it is in this one module, in one `register_task` call: how to load
it, its labeling prompts and exemplars, the paper's task it stands beside, and its statistics for `plan`.
`tests/test_extra_task.py` runs the whole pipeline on it."""
import random

from rlaif_repro.data import TaskSpec, register_task
from rlaif_repro.prompts import Exemplar, TaskPrompts

QUESTIONS = (   # (question, a good answer, a poor one)
    ("How long should I boil an egg for a soft yolk?", "About six minutes in boiling water.", "Boil it for an hour to be safe."),
    ("Can I freeze cooked rice?", "Yes, cool it fast and freeze it within a day.", "No, rice turns to stone in the freezer."),
    ("Why did my bread not rise?", "The yeast may be old or the water too hot.", "Bread never rises at home."),
    ("How do I keep herbs fresh?", "Stand them in water in the fridge like flowers.", "Leave them in the sun on the counter."),
    ("What makes pasta water boil over?", "Starch foam; a wide pot and lower heat help.", "Pasta water never boils over."),
    ("Is it safe to eat raw flour?", "No, it can carry bacteria; bake it first.", "Yes, flour is always safe raw."),
    ("How do I stop onions making me cry?", "Chill the onion and use a sharp knife.", "Cry less by using a blunt knife."),
    ("How long does cooked chicken keep?", "Three to four days in the fridge.", "About a month on the shelf."),
)
SIZES = {"train": 48, "validation": 16, "test": 16}

def _prompt(context:str)->str: return f"Question: {context}\nAnswer:"

def load_kitchen(split:str, *, data_files=None, seed:int=0)->dict:
    "Prompts and comparisons of `split`: each pair is a good and a poor answer, in a seeded order"
    if data_files is not None: raise ValueError("task 'kitchen' makes its own data; data_files must be None")
    rng = random.Random(f"kitchen-{split}-{seed}")
    prompts, comps = [], []
    for i in range(SIZES[split]):
        q, good, poor = QUESTIONS[(i + len(split)) % len(QUESTIONS)]
        prompts.append({"id": f"{split}-{i}", "prompt": _prompt(q), "reference": good})
        first = rng.random() < 0.5
        comps.append({"id": f"{split}-{i}", "context": q, "response_1": good if first else poor, "response_2": poor if first else good,
                      "human_choice": 0 if first else 1, "confidence": None, "task": "kitchen"})
    return {"prompts": prompts, "comparisons": comps}

WORDING = {
    "preamble_base": "You judge answers to kitchen questions. Reply with 1 if the first answer is better or 2 if the second is.",
    "preamble_base_cot": "You judge answers to kitchen questions. Explain which answer is better.",
    "preamble_detailed": "A good answer to a kitchen question is correct and safe, and short. Reply with 1 if the first answer "
                         "is better or 2 if the second is.",
    "preamble_detailed_cot": "A good answer to a kitchen question is correct and safe, and short. Explain which answer is better.",
    "sample": "Question - {context}\nAnswer 1 - {response_1}\nAnswer 2 - {response_2}\n",
    "label": "Preferred Answer=",
    "thoughts": "Thoughts on Answer {n} -",
    "cot_request": "\nThink about whether each answer is correct and safe, then say which is better.\n",
    "score_preamble": "Rate the answer to the kitchen question from 1 (wrong or unsafe) to 10 (correct, safe and short). "
                      "Reply with the number only.",
    "score_sample": "QUESTION: {context}\nANSWER: {response}\n",
}

SPEC = TaskSpec(
    "kitchen", load_kitchen, "kitchen questions answered in one line (a test task)", format_prompt=_prompt,
    title="Kitchen answers", paper_task="hh_helpful",
    prompts=TaskPrompts("Answer", ("Correctness", "Safety"), templates=WORDING),
    exemplars=(Exemplar(QUESTIONS[0][0], QUESTIONS[0][1], QUESTIONS[0][2], 1, "Answer 1 is right; answer 2 overcooks the egg."),
               Exemplar(QUESTIONS[1][0], QUESTIONS[1][2], QUESTIONS[1][1], 2, "Answer 2 is right; rice freezes well.")),
    plan_stats=dict(sft=0, comparisons=SIZES["train"], rl_prompts=SIZES["train"], prompt_mean=20, prompt_max=40,
                    response_mean=12, response_max=24, rationale_mean=20, sft_stage=False))

register_task(SPEC)
