"""`python -m rlaif_repro ...`: the `rlaif-repro` command (what `accelerate launch -m rlaif_repro` runs); see nbs/14_pipeline.ipynb"""
import sys
from rlaif_repro.pipeline import main

if __name__ == "__main__": sys.exit(main())
