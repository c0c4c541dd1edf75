"""What each stage of a finished run read from the config, against the fields its cache key holds.

`Reproduction` runs every stage inside `config.reads_of` and keeps, in the stage's `DONE.json`, the fields the stage
declared (`fields`, dotted names or whole parts) and the fields it read (`reads`). Two ways for a key to lie:
- a field read but not in the key: changing it serves the stage's old result (stale);
- a field in the key that no stage reads: changing it reruns the stage and everything after it for nothing."""
import json
from dataclasses import fields
from pathlib import Path

from rlaif_repro.config import ExperimentConfig, _Config

# read by stages, and on purpose in no stage key
UNKEYED = {
    "name": "names the run; the report prints it",
    "preset": "the preset the config started from; the report prints it",
    "report_to": "experiment tracking only (the field says so)",
    "models.device": "placement: a run moved to another device keeps what it computed",
    "models.trust_remote_code": "permission to run a checkpoint's own code, not a setting of the model",
    "models.vllm_tensor_parallel_size": "how the vLLM labeling engine spreads over GPUs",
    "models.vllm_gpu_memory_utilization": "memory the vLLM engine may take",
    "models.vllm_max_model_len": "longest sequence the vLLM engine serves",
    "models.vllm_kv_cache_gb": "KV-cache size of the vLLM engine",
    "models.vllm_enforce_eager": "vLLM without graph capture: start-up time, not results",
}
# keyed through the data stage's `extra` (not as fields): the files' content digest and the toy world's build recipe;
# every stage has the data stage among its inputs, so these are in every key
THROUGH_DATA = {"data.task", "data.data_files", "data.world_seed", "data.judge_drift"}
# read only in settings that these runs do not use; the stage that reads them declares them
ONLY_WHEN = {
    "out_dir": "only when no folder is given to `reproduce` (the CLI always gives --out)",
    "reward_model.eval_fraction": "only by `train_reward_model` called without an evaluation set (library use)",
    "rl.mix_weight": "only by the optional RLHF+RLAIF run (`reproduce(cfg, policies=[..., 'RLHF+RLAIF'])`), whose key alone holds it",
    "models.vllm_tensor_parallel_size": "labeler.backend='vllm'", "models.vllm_gpu_memory_utilization": "labeler.backend='vllm'",
    "models.vllm_max_model_len": "labeler.backend='vllm'", "models.vllm_kv_cache_gb": "labeler.backend='vllm'",
    "models.vllm_enforce_eager": "labeler.backend='vllm'",
}
# read by `reproduce` itself, outside every stage: how the stages are run, never what they compute
OUTSIDE_STAGES = {"parallel_stages": "how many processes compute stages side by side"}

def leaves(cfg=None, prefix:str="")->list[str]:
    "Dotted names of every field of the config"
    cfg = cfg if cfg is not None else ExperimentConfig()
    out = []
    for f in fields(cfg):
        v = object.__getattribute__(cfg, f.name)
        out += leaves(v, f"{prefix}{f.name}.") if isinstance(v, _Config) else [prefix + f.name]
    return out

def covered(declared, name:str)->bool:
    "Does a declared field list (dotted names or whole parts) hold `name`?"
    return any(name == d or name.startswith(d + ".") for d in declared)

def markers(run:Path)->list[dict]:
    "`DONE.json` of every stage the run computed (cached stages hold no reads)"
    out = [json.loads(p.read_text()) for p in sorted(Path(run).glob("*/*/DONE.json"))]
    return [m for m in out if "reads" in m]

def undeclared_reads(run:Path)->dict:
    "stage -> fields it read that are not in its key, in `UNKEYED` or keyed through the data stage (empty when every key tells the truth)"
    bad = {m["stage"]: sorted(r for r in m["reads"] if not covered(m["fields"], r) and r not in UNKEYED and r not in THROUGH_DATA)
           for m in markers(run)}
    return {k: v for k, v in bad.items() if v}

def never_read(runs)->list[str]:
    "Fields that no stage of `runs` read and that are not keyed some other way or read only in other settings"
    seen = {r for run in runs for m in markers(run) for r in m["reads"]}
    return [f for f in leaves() if f not in seen and f not in THROUGH_DATA and f not in ONLY_WHEN and f not in OUTSIDE_STAGES]

def unread_declared(runs)->dict:
    "stage -> fields in its key that it read in none of `runs` (whole parts count field by field)"
    declared, read = {}, {}
    for run in runs:
        for m in markers(run):
            declared.setdefault(m["stage"], set()).update(f for f in leaves() if covered(m["fields"], f))
            read.setdefault(m["stage"], set()).update(m["reads"])
    out = {s: sorted(d - read[s] - THROUGH_DATA - set(ONLY_WHEN)) for s, d in declared.items()}
    return {s: v for s, v in out.items() if v}
