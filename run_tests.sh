#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian machine (Python + pip + apt only) and runs them.
#   ./run_tests.sh            # the whole suite
#   ./run_tests.sh -k losses  # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --upgrade pip >/dev/null
"$VENV/bin/pip" install -q -e ".[cpu,test]"
# tensorflow-serving-api declares the full `tensorflow` wheel; its protos only need what
# tensorflow-cpu provides, so it goes in without dependencies (see BUILD_NOTES.md).
"$VENV/bin/pip" install -q --no-deps "tensorflow-serving-api==2.21.0"
"$VENV/bin/pip" install -q "grpcio>=1.60"

# Fashion-MNIST for the tests and the demo, offline, from Debian's archive.
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq dataset-fashion-mnist
fi

export PATH="$PWD/$VENV/bin:$PATH"
exec "$VENV/bin/python" -m pytest -q -rs "$@"
