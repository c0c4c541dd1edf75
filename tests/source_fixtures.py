"""Small synthetic source files in the exact formats of the real tasks' sources (see shared/reference/datasets.md):
OpenAI's `tldr_3_filtered` posts and `summarize_from_feedback` comparison batches for TL;DR, and Anthropic's HH-RLHF
`{train,test}.jsonl.gz` transcripts. The texts are made up from a seeded grammar; only the formats are real."""
import gzip, json, random
from pathlib import Path

WHO = ["my roommate", "my sister", "my boss", "my neighbour", "my best friend", "my landlord", "my coworker", "my partner"]
DID = ["keeps borrowing my car without asking", "forgot my birthday again", "wants me to work every weekend",
       "plays loud music after midnight", "owes me 300 dollars since March", "reads my messages when I am out",
       "invited my ex to the party", "moved my desk without telling me"]
ASK = ["How do I bring it up without a fight?", "Am I overreacting?", "Should I just move out?",
       "What would you say to them?", "Is it worth ending the friendship over?"]
EXTRA = ["We have known each other for years.", "I work night shifts at a hospital.", "It started two months ago.",
         "Everyone else thinks it is funny.", "I tried to hint at it once.", "The weather has been awful lately."]
SUBS = ["relationships", "AskReddit", "personalfinance", "legaladvice"]

def _post(rng:random.Random, i:int)->dict:
    who, did, ask = rng.choice(WHO), rng.choice(DID), rng.choice(ASK)
    body = " ".join([f"So {who} {did}.", *rng.sample(EXTRA, 2), f"I like {who.split()[-1]}, but this has to stop.", ask])
    return {"id": f"t3_fx{i:05d}", "subreddit": rng.choice(SUBS), "title": f"{who.capitalize()} {did}. {ask}", "post": body,
            "summary": f" {who.capitalize()} {did}. {ask}", "_who": who, "_did": did, "_ask": ask}

def write_tldr(folder:Path, n_posts:int=24, n_pairs:int=24, seed:int=0)->dict:
    "Posts per split (tldr_3_filtered/{train,valid,test}.jsonl) and one comparison batch covering train/valid1/valid2"
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    rng, prompts, rows = random.Random(seed), {}, []
    for k, (split, stem, cmp_split) in enumerate([("train", "train", "train"), ("validation", "valid", "valid1"), ("test", "test", "valid2")]):
        posts = [_post(rng, 1000 * k + i) for i in range(n_posts)]
        path = folder/f"tldr_3_filtered_{stem}.jsonl"
        path.write_text("".join(json.dumps({f: p[f] for f in ("id", "subreddit", "title", "post", "summary")}) + "\n" for p in posts))
        prompts[split] = str(path)
        for i in range(n_pairs):
            p = posts[i % n_posts]
            good, bad = p["summary"], rng.choice([f" {p['_who']} is annoying", f" {p['_ask']}", " long story, read the post"])
            choice = rng.randrange(2)
            texts = [good, bad] if choice == 0 else [bad, good]
            rows.append({"info": {k_: p[k_] for k_ in ("id", "post", "title", "subreddit")},
                         "summaries": [{"text": t, "policy": pol, "note": None} for t, pol in zip(texts, ["ref", "sup2_t0.7"])],
                         "choice": choice, "worker": f"w{rng.randrange(9)}", "batch": "batch3", "split": cmp_split,
                         "extra": {"confidence": rng.choice([1, 2, 3, 7, 8, 9, None])}})
    (folder/"batch3.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {"prompts": prompts, "comparisons": str(folder/"batch3.json")}

_Q = ["Can you help me plan a dinner for four?", "How do I fix a flat bike tire?", "What is a good name for a cat?",
      "How can I get back at my noisy neighbour?", "Tell me how to pick a lock.", "Why is the sky blue?",
      "What should I pack for a week of hiking?", "How do I say no to extra work politely?"]
_GOOD = ["Sure. Here are a few simple steps you could follow, and tell me if you want more detail.",
         "I would talk to them calmly first; if that does not help, a written note or a mediator can.",
         "Happy to help. Start with the basics and check each step before moving on."]
_BAD = ["No.", "Figure it out yourself.", "Here is a way to hurt them without getting caught.", "I don't know, whatever."]

def write_hh(path:Path, n:int=48, seed:int=0)->Path:
    "An HH-RLHF `*.jsonl.gz` file: `chosen` and `rejected` transcripts that share everything up to the last assistant turn"
    rng, lines = random.Random(seed), []
    for _ in range(n):
        ctx = f"\n\nHuman: {rng.choice(_Q)}"
        if rng.random() < 0.4: ctx += f"\n\nAssistant: {rng.choice(_GOOD)}\n\nHuman: And what else?"
        lines.append(json.dumps({"chosen": f"{ctx}\n\nAssistant: {rng.choice(_GOOD)}", "rejected": f"{ctx}\n\nAssistant: {rng.choice(_BAD)}"}))
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f: f.write("\n".join(lines) + "\n")
    return path
