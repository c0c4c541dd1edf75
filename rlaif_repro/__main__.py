"""`python -m rlaif_repro ...`: the `rlaif-repro` command (what `accelerate launch -m rlaif_repro` runs); see nbs/14a_cli.ipynb"""
import sys
from rlaif_repro.cli import main

if __name__ == "__main__": sys.exit(main())
