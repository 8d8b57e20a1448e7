"""What the README's "Trust boundaries" section says about code and servers, kept true by tests.

- Model files are loaded with Keras' `safe_mode` on: a `.keras` file that carries Python code (a
  `Lambda` layer) is refused, not run, even when it sits where the package caches its classifier.
- `--strategy=multi_worker` starts TensorFlow's gRPC server, which listens on every interface even
  when `TF_CONFIG` names localhost (upstream behaviour; if this test starts failing, TensorFlow
  changed and the README's warning can be relaxed).
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import keras
import pytest

from tfgan_orig import classifier


def test_cached_classifier_with_a_lambda_layer_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(classifier.CACHE_ENV, str(tmp_path))
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Lambda(lambda x: x * 2.0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(outputs)))
    path = classifier.classifier_path("fashion_mnist")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode"):
        classifier.load_classifier("fashion_mnist", train_if_missing=False)


_PROBE = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    port = int(sys.argv[1])
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"localhost:{port}"]},
                                          "task": {"type": "worker", "index": 0}})
    import tensorflow as tf
    tf.distribute.MultiWorkerMirroredStrategy()
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hexport = local.rsplit(":", 1)
            if state == "0A" and int(hexport, 16) == port:
                listening.append(address)
    print(json.dumps(listening))
    """
)


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp6"), reason="needs Linux /proc/net")
def test_multi_worker_grpc_server_listens_on_all_interfaces(tmp_path):
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    script = tmp_path / "probe.py"
    script.write_text(_PROBE)
    out = subprocess.run(
        [sys.executable, str(script), str(port)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    listening = json.loads(out.stdout.strip().splitlines()[-1])
    assert listening, f"nothing listens on port {port}: {out.stdout}"
    # An all-zero address is the wildcard (0.0.0.0 or ::), i.e. every interface, not just loopback.
    assert any(set(address) == {"0"} for address in listening), listening
