#!/usr/bin/env bash
# PacGAN Table 1 (Lin et al. 2018; docs/mixtures.md): rows GAN, PacGAN2, PacGAN4 on ring8 and
# grid25 over several seeds, each with PacGAN's protocol (100,000 points, its G and D, Adam 1e-4
# beta1 0.8, batch 100), mode coverage on 2,500 samples (HQ = within 3 std of the nearest mode),
# mean +- standard error over seeds beside the published numbers.
#
#   scripts/reproduce_mixtures.sh                                  # PacGAN's budget: 400 epochs, 10 seeds
#   EPOCHS=20 SEEDS="0 1 2 3 4" scripts/reproduce_mixtures.sh      # what fits a loaded 2-core machine
#   ROWS="best" EPOCHS=40 SEEDS="0 1 2 3 4" scripts/reproduce_mixtures.sh   # configs/<dataset>_best.py
#
# Environment: EPOCHS (default 400), SEEDS (default "0 ... 9"), DATASETS (default "ring8 grid25"),
# ROWS (default "gan pacgan2 pacgan4"; gan = configs/<dataset>.py, R = configs/<dataset>_R.py),
# RUNS (default runs/mixtures), PYTHON (default python), FAST (default 1: XLA and 50 steps per
# execution; 0 = the configs' own settings). Re-running resumes unfinished runs from their
# checkpoints (a larger EPOCHS continues finished shorter ones) and skips evaluated ones.
# Writes RUNS/<dataset>/<row>/seed<k>/ (eval/metrics.json, wall_seconds.json) and
# RUNS/table.md + RUNS/table.json. Extra arguments are --config.X=Y overrides for every run.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-400}
SEEDS=${SEEDS:-"0 1 2 3 4 5 6 7 8 9"}
DATASETS=${DATASETS:-"ring8 grid25"}
ROWS=${ROWS:-"gan pacgan2 pacgan4"}
RUNS=${RUNS:-runs/mixtures}
PYTHON=${PYTHON:-python}
FAST=${FAST:-1}

csv() { echo "$*" | tr -s ' ' ',' | sed 's/^,//; s/,$//'; }
fast=()
if [ "$FAST" = 0 ]; then fast=(--no-fast); fi
"$PYTHON" scripts/mixtures.py all --rows="$(csv $ROWS)" --datasets="$(csv $DATASETS)" \
  --seeds="$(csv $SEEDS)" --epochs="$EPOCHS" --runs="$RUNS" --python="$PYTHON" \
  ${fast[@]+"${fast[@]}"} "$@"
