#!/usr/bin/env bash
# The demo: train the original GAN (Goodfellow et al. 2014, the paper's networks) on Fashion-MNIST
# from Debian's dataset-fashion-mnist package, offline, in about 10 minutes on 2 CPU cores.
#
#   ./demo.sh [WORKDIR] [extra --config.* overrides]
#
# Sets up .venv (pip install -e .[cpu]) and the dataset if missing, trains with a progress bar,
# and ends by printing where the sample grid PNG, the TensorBoard logs and the exported
# SavedModel are. Re-running continues the same run (it resumes from its checkpoint).
# Environment: PYTHON (default python3), VENV (default .venv), DEMO_MINUTES (training time limit,
# default 7).
set -euo pipefail

cd "$(dirname "$0")"
WORKDIR="${1:-runs/demo}"
shift || true
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
MINUTES="${DEMO_MINUTES:-7}"
start=$(date +%s)

say() { printf '\n==> %s\n' "$*"; }

# 1. Python environment.
if [ ! -x "$VENV/bin/python" ]; then
  say "Creating the virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import tfgan_orig, tensorflow" >/dev/null 2>&1; then
  say "Installing tfgan_orig and TensorFlow (CPU) into $VENV"
  # pip's output goes to a log (index warnings are noise); its tail is shown if it fails.
  if ! "$VENV/bin/pip" install -e ".[cpu]" >"$VENV/pip-install.log" 2>&1; then
    tail -n 30 "$VENV/pip-install.log"
    echo "pip install failed; full log: $VENV/pip-install.log" >&2
    exit 1
  fi
fi

# The SavedModel export writes TF Serving warmup requests: tensorflow-serving-api's protos. Its wheel
# declares the full `tensorflow` as a dependency, so it goes in with --no-deps (docs/upstream_issues.md).
if ! "$VENV/bin/python" -c "import tensorflow_serving.apis.prediction_log_pb2" >/dev/null 2>&1; then
  say "Installing tensorflow-serving-api (protos only, --no-deps)"
  "$VENV/bin/pip" install --no-deps "tensorflow-serving-api==2.21.0" >>"$VENV/pip-install.log" 2>&1
  "$VENV/bin/pip" install grpcio >>"$VENV/pip-install.log" 2>&1
fi

# 2. Data: Debian's Fashion-MNIST package (the loader also tries tfds when online).
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  say "Installing Debian's dataset-fashion-mnist package"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get install -y dataset-fashion-mnist \
    || { $SUDO apt-get update && $SUDO apt-get install -y dataset-fashion-mnist; } \
    || echo "dataset-fashion-mnist unavailable: the training will try tfds (needs internet)."
fi

# 3. Train.
say "Training the paper's GAN on Fashion-MNIST (at most $MINUTES min; progress bar below)"
export TF_CPP_MIN_LOG_LEVEL=2
"$VENV/bin/python" -m tfgan_orig.train \
  --config=configs/fashion_mnist_demo.py \
  --workdir="$WORKDIR" \
  --config.train.time_limit_minutes="$MINUTES" \
  "$@"

say "Demo finished in $(( $(date +%s) - start )) s. Open the sample grid: $WORKDIR/samples/latest.png"
