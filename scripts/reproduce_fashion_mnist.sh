#!/usr/bin/env bash
# Fashion-MNIST numbers of docs/evaluation.md: Parzen log-likelihood of the paper's GAN (and of the
# training set used as samples), and Fréchet distance on the package's classifier features of the
# paper's MLP GAN vs DCGAN.
#
#   scripts/reproduce_fashion_mnist.sh                          # paper budget: 300 MLP epochs
#   MLP_EPOCHS=12 DCGAN_EPOCHS=2 scripts/reproduce_fashion_mnist.sh   # what fits a loaded 2-core box
#   DATASET=mnist scripts/reproduce_fashion_mnist.sh   # MNIST, where its IDX files or tfds copy exist:
#                                                      # the paper's Table 1 reports 225 +- 2
#
# Environment: DATASET (fashion_mnist or mnist), MLP_EPOCHS (default 300), DCGAN_EPOCHS (default 25),
# RUNS (default runs/$DATASET), PYTHON (default python). The feature classifier is trained once
# (~10 min on 2 cores) and cached in
# ${TFGAN_ORIG_CACHE:-~/.cache/tfgan_orig}/classifiers/.
set -euo pipefail
cd "$(dirname "$0")/.."
MLP_EPOCHS=${MLP_EPOCHS:-300}
DCGAN_EPOCHS=${DCGAN_EPOCHS:-25}
DATASET=${DATASET:-fashion_mnist}
RUNS=${RUNS:-runs/$DATASET}
PYTHON=${PYTHON:-python}
METRICS=parzen,fd,kid,pr,dc,cs

# 1. The training set as samples: the reference value of every metric.
"$PYTHON" -m tfgan_orig.evaluate --dataset="$DATASET" --samples=train --metrics="$METRICS" \
  --feature_network=classifier --output="$RUNS/reference/eval/metrics.json"

# 2. The paper's GAN (G 1200-1200 ReLU, maxout D with dropout, the authors' SGD).
"$PYTHON" -m tfgan_orig.train --config="configs/${DATASET}_mlp.py" --workdir="$RUNS/mlp" \
  --config.train.epochs="$MLP_EPOCHS" --config.train.verbose=2 --config.train.export=False
"$PYTHON" -m tfgan_orig.evaluate --workdir="$RUNS/mlp" --metrics="$METRICS" --feature_network=classifier

# 3. DCGAN (docs/references.md §4: Adam 2e-4, beta1 0.5, batch 128, tanh G on [-1, 1] data), trained
#    through the library because the training program has no DCGAN config yet.
"$PYTHON" - "$RUNS/dcgan" "$DCGAN_EPOCHS" "$METRICS" "$DATASET" <<'PY'
import json, os, sys, time
import keras, numpy as np
import tfgan_orig
from tfgan_orig import data, evaluation, networks

workdir, epochs, metrics, dataset = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
os.makedirs(os.path.join(workdir, "eval"), exist_ok=True)
keras.utils.set_random_seed(0)
gan = tfgan_orig.GAN(
    networks.dcgan_generator(100, (28, 28, 1), seed=0),
    networks.dcgan_discriminator((28, 28, 1), seed=0),
    latent_dim=100, seed=0,
)
gan.compile(
    d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    loss="non_saturating",
)
ds = data.make_dataset(dataset, 128, value_range=(-1.0, 1.0), seed=0)
started = time.perf_counter()
gan.fit(ds, epochs=epochs, verbose=2)
train_s = time.perf_counter() - started
gan.generator.save(os.path.join(workdir, "generator.keras"))
results, info = evaluation.Evaluator(
    dataset, feature_network="classifier", value_range=(-1.0, 1.0)
).evaluate(gan, metrics)
record = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in results.items()}
record.update(feature_network=info["feature_network"], num_samples=info["num_samples"],
              dataset=dataset, workdir=os.path.abspath(workdir), epoch=epochs,
              metrics=list(info["num_samples"]), seed=0, train_seconds=round(train_s, 1))
json.dump(record, open(os.path.join(workdir, "eval", "metrics.json"), "w"), indent=2)
PY

# 4. Side by side.
"$PYTHON" - "$RUNS" "$DATASET" <<'PY'
import json, sys
runs, dataset = sys.argv[1], sys.argv[2]
rows = [("train set as samples", "reference"), ("paper MLP GAN", "mlp"), ("DCGAN", "dcgan")]
keys = ["parzen_ll", "parzen_ll_stderr", "parzen_sigma", "frechet_distance", "kid", "precision",
        "recall", "density", "coverage", "classifier_score"]
print("| samples | epochs | " + " | ".join(keys) + " |")
print("|---" * (len(keys) + 2) + "|")
for label, sub in rows:
    r = json.load(open(f"{runs}/{sub}/eval/metrics.json"))
    cells = [f"{r[k]:.4g}" if isinstance(r.get(k), (int, float)) else "n/a" for k in keys]
    print(f"| {label} | {r.get('epoch') or '-'} | " + " | ".join(cells) + " |")
print(f"Features: classifier/{dataset} (the package's CNN); Parzen on raw pixels in [0, 1].")
PY
