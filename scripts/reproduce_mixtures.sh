#!/usr/bin/env bash
# PacGAN Table 1, GAN row (docs/references.md §3): the vanilla GAN on ring8 and grid25 over several
# seeds, mode coverage on 2,500 samples each, mean +- standard error over seeds.
#
#   scripts/reproduce_mixtures.sh                       # PacGAN's budget: 400 epochs, 10 seeds
#   EPOCHS=6 SEEDS="0 1 2 3 4" scripts/reproduce_mixtures.sh   # what fits a loaded 2-core machine
#
# Environment: EPOCHS (default 400), SEEDS (default "0 ... 9"), DATASETS (default "ring8 grid25"),
# RUNS (default runs/mixtures), PYTHON (default python). Re-running resumes unfinished runs and
# re-evaluates. Writes RUNS/<dataset>/seed<k>/eval/metrics.json and RUNS/summary_<dataset>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-400}
SEEDS=${SEEDS:-"0 1 2 3 4 5 6 7 8 9"}
DATASETS=${DATASETS:-"ring8 grid25"}
RUNS=${RUNS:-runs/mixtures}
PYTHON=${PYTHON:-python}

for name in $DATASETS; do
  for seed in $SEEDS; do
    workdir="$RUNS/$name/seed$seed"
    "$PYTHON" -m tfgan_orig.train --config="configs/$name.py" --workdir="$workdir" \
      --config.seed="$seed" --config.train.epochs="$EPOCHS" --config.train.verbose=2 \
      --config.train.export=False
    "$PYTHON" -m tfgan_orig.evaluate --workdir="$workdir" --metrics=modes --seed="$seed"
  done
  "$PYTHON" - "$RUNS" "$name" $SEEDS <<'PY'
import json, math, sys

runs, name, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
paper = {"ring8": (8, "6.3±0.5", "98.2±0.2%", "0.45±0.09"), "grid25": (25, "17.3±0.8", "94.8±0.7%", "0.70±0.07")}
records = [json.load(open(f"{runs}/{name}/seed{s}/eval/metrics.json")) for s in seeds]

def mean_se(key, scale=1.0):
    v = [r[key] * scale for r in records if r[key] is not None]
    m = sum(v) / len(v)
    se = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)) if len(v) > 1 else float("nan")
    return m, se, len(v)

summary = {"dataset": name, "seeds": [int(s) for s in seeds], "epochs": [r["epoch"] for r in records]}
for key in ("modes_captured", "high_quality_fraction", "reverse_kl"):
    m, se, n = mean_se(key)
    summary[key] = {"mean": m, "stderr": se, "n": n, "values": [r[key] for r in records]}
json.dump(summary, open(f"{runs}/summary_{name}.json", "w"), indent=2)
k, pm, ph, pk = paper[name]
mc, hq, kl = (summary[x] for x in ("modes_captured", "high_quality_fraction", "reverse_kl"))
print(f"\n{name}: {len(records)} seeds, epochs {sorted(set(summary['epochs']))} (PacGAN: 400, 10 trials)")
print(f"| {'':9} | modes /{k} | HQ | reverse KL |")
print(f"| this run  | {mc['mean']:.1f}±{mc['stderr']:.1f} | {100*hq['mean']:.1f}±{100*hq['stderr']:.1f}% "
      f"| {kl['mean']:.2f}±{kl['stderr']:.2f} (n={kl['n']}) |")
print(f"| PacGAN GAN | {pm} | {ph} | {pk} |")
PY
done
