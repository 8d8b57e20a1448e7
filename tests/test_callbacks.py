"""Tests of tfgan_orig.callbacks' TensorBoard output, read back: the real `tensorboard` server,
started on a loopback port on a finished run's logs, serves the scalars, hparams and the sample
picture the callbacks wrote. (SIGTERM/SIGINT handling, StopOnSignal, runs end to end in
test_reliability_e2e.py.)"""

import json
import os
import runpy
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest

from tfgan_orig import images, train_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(base, path, params=None):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


def _tiny_run(workdir):
    config = runpy.run_path(os.path.join(REPO, "configs", "fashion_mnist_mlp.py"))["get_config"]()
    config.model.g_hidden_units = (16,)
    config.model.d_units = 8
    config.model.d_pieces = 2
    config.data.limit = 200
    config.train.batch_size = 10
    config.train.steps_per_epoch = 4
    config.train.epochs = 2
    config.train.log_every_steps = 2
    config.train.num_samples = 9
    config.train.verbose = 0
    config.train.export = False
    return train_lib.train_and_evaluate(config, workdir)


@pytest.mark.slow
def test_tensorboard_serves_scalars_images_and_hparams(tmp_path):
    result = _tiny_run(str(tmp_path))
    logdir = result["tensorboard"]
    binary = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--logdir", logdir, "--host", "127.0.0.1", "--port", str(port),
         "--reload_interval", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        tags = None
        deadline = time.time() + 120
        while time.time() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"tensorboard exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                tags = json.loads(_get(base, "/data/plugin/scalars/tags"))
                if tags.get(".", {}).get("d_loss") is not None:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert tags and "." in tags, f"no run served: {tags}"
        for tag in ("d_loss", "g_loss", "d_real", "d_fake", "d_learning_rate", "g_learning_rate",
                    "images_per_second", "epoch/d_loss"):
            assert tag in tags["."], (tag, sorted(tags["."]))

        d_loss = json.loads(_get(base, "/data/plugin/scalars/scalars", {"run": ".", "tag": "d_loss"}))
        # [wall_time, step, value] every 2 steps over 2 epochs of 4 steps.
        assert [row[1] for row in d_loss] == [2, 4, 6, 8]
        assert all(np.isfinite(row[2]) and row[2] > 0 for row in d_loss)
        lr = json.loads(_get(base, "/data/plugin/scalars/scalars",
                             {"run": ".", "tag": "g_learning_rate"}))
        # paper_sgd: lr(t) = 0.1 / 1.000004^t at the optimizer's step t (= global step here).
        assert lr[0][2] == pytest.approx(0.1 / 1.000004**2, rel=1e-5)

        listing = json.loads(_get(base, "/data/plugin/images/images", {"run": ".", "tag": "samples"}))
        assert [entry["step"] for entry in listing] == [1, 2]
        png = _get(base, "/data/plugin/images/individualImage?" + listing[-1]["query"])
        picture = images.decode_png(png)
        # 9 samples -> 3 x 3 tiles of 28 px + 2 px padding: 3 * 30 + 2 = 92.
        assert picture.shape[:2] == (92, 92)
        on_disk = images.decode_png(open(os.path.join(str(tmp_path), "samples",
                                                      "epoch_0002.png"), "rb").read())
        np.testing.assert_array_equal(picture.reshape(on_disk.shape), on_disk)

        plugins = json.loads(_get(base, "/data/plugins_listing"))
        assert plugins["hparams"]["enabled"], plugins["hparams"]
    finally:
        proc.kill()
        proc.wait(timeout=30)
