"""A stage from outside the package: one row of the stage table and the `Reproduction` method it names.

`tests/test_extra_stage.py` runs it through the command line. Importing this module is all it takes: the row goes
before the report, so the report's key (which holds every stage before it) follows the new stage."""
from pathlib import Path

import pandas as pd
from fastcore.basics import patch

from rlaif_repro.config import Stage, add_stage
from rlaif_repro.stages import Reproduction


@patch
def stage_lengths(self: Reproduction):
    "Mean words and characters of each evaluated policy's responses (from the evaluation's per-item table)"
    def fn(d: Path):
        items = pd.read_csv(self.dir("eval")/"items.csv")
        means = items.groupby("policy")[["words", "chars"]].mean().reset_index()
        means.to_csv(d/"lengths.csv", index=False)
        return {"policies": len(means), "summary": ", ".join(f"{r.policy} {r.words:.1f} words" for r in means.itertuples())}
    return self._stage("lengths", ["eval.num_items"], ["eval"], fn)


add_stage(Stage("lengths", "stage_lengths", modules=()), before="report")
