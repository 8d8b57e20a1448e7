"""The generator export: the TF Serving contract (signatures, versions, warmup), checked for real.

The SavedModel is loaded back in-process, in a fresh process where `tfgan_orig` cannot be imported,
and through `saved_model_cli` (whose TF1 session path is the one TF Serving uses).
"""

import json
import os
import subprocess
import sys
import textwrap
import threading

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

import tfgan_orig
from tfgan_orig import export, networks

LATENT = 8
SHAPE = (4, 4, 1)
SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")


def image_gan(noise="normal", seed=1):
    g = networks.paper_generator(LATENT, hidden_units=(16,), output_shape=SHAPE, seed=seed)
    d = networks.paper_discriminator(SHAPE, units=8, pieces=2, seed=seed)
    return tfgan_orig.GAN(g, d, latent_dim=LATENT, noise=noise, seed=seed)


def points_gan():
    g = networks.mlp_generator(latent_dim=2, output_dim=2, hidden_units=(8,), seed=0)
    d = networks.maxout_discriminator(2, units=4, pieces=2, num_layers=1, seed=0)
    return tfgan_orig.GAN(g, d, latent_dim=2, seed=0)


def conditional_gan(num_classes=3):
    g = networks.dcgan_generator(
        latent_dim=4, output_shape=(28, 28, 1), base_filters=2, num_classes=num_classes, seed=0
    )
    # A minimal conditional D: the export never uses it, the GAN only needs one to build.
    x = keras.Input((28, 28, 1))
    labels = keras.Input((), dtype="int32")
    h = keras.layers.Concatenate()(
        [keras.layers.Flatten()(x), keras.layers.Embedding(num_classes, 2)(labels)]
    )
    d = keras.Model([x, labels], keras.layers.Dense(1)(h))
    return tfgan_orig.GAN(g, d, latent_dim=4, num_classes=num_classes, seed=0)


@pytest.fixture(scope="module")
def gan():
    return image_gan()


@pytest.fixture(scope="module")
def exported(gan, tmp_path_factory):
    return export.export_generator(gan, str(tmp_path_factory.mktemp("models") / "generator"))


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(exported)


def session_run(path, signature, feeds):
    """Runs a signature the way TF Serving does: TF1 session, tensors named by the SignatureDef."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
        sig = meta.signature_def[signature]
        feed = {sig.inputs[k].name: v for k, v in feeds.items()}
        return sess.run({k: v.name for k, v in sig.outputs.items()}, feed)


def run_generate(model, seed, num, **extra):
    return model.signatures["generate"](
        seed=tf.constant(seed, tf.int64), num=tf.constant(num, tf.int32), **extra
    )


# ------------------------------------------------------------------------------------ layout
def test_layout_versions_and_no_overwrite(gan, tmp_path):
    base = str(tmp_path / "generator")
    first = export.export_generator(gan, base, warmup=False)
    second = export.export_generator(gan, base, warmup=False)
    assert (first, second) == (os.path.join(base, "1"), os.path.join(base, "2"))
    for name in ("saved_model.pb", "variables", export.METADATA_FILE):
        assert os.path.exists(os.path.join(second, name)), name
    before = os.path.getmtime(os.path.join(first, "saved_model.pb"))
    with pytest.raises(FileExistsError, match="never overwritten"):
        export.export_generator(gan, base, version=1, warmup=False)
    assert os.path.getmtime(os.path.join(first, "saved_model.pb")) == before
    assert export.export_generator(gan, base, version=7, warmup=False).endswith("7")
    assert export.next_version(base) == 8
    # Temporary directories never linger where a server polls.
    assert sorted(os.listdir(base)) == ["1", "2", "7"]


def test_bad_export_arguments(gan, tmp_path):
    with pytest.raises(ValueError, match="version"):
        export.export_generator(gan, str(tmp_path), version=-1)
    with pytest.raises(ValueError, match="max_num"):
        export.export_generator(gan, str(tmp_path), max_num=0)
    with pytest.raises(ValueError, match="output_range"):
        export.export_generator(gan, str(tmp_path), output_range=(1.0, 1.0))
    with pytest.raises(ValueError, match="ema_generator"):
        export.export_generator(gan, str(tmp_path), use_ema=True)
    assert os.listdir(tmp_path) == []  # nothing half-written


def test_publish_version_race_threads(tmp_path):
    """Eight publishers racing for the same next version all land, each in its own version."""
    base = str(tmp_path)
    barrier = threading.Barrier(8)
    results = {}

    def publish(i):
        tmp = os.path.join(base, f".tmp-{i}")
        os.makedirs(tmp)
        with open(os.path.join(tmp, "payload"), "w") as f:
            f.write(str(i))
        barrier.wait()
        results[i] = export.publish_version(tmp, base)

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(os.listdir(base)) == sorted(str(v) for v in range(1, 9))
    for i, path in results.items():
        with open(os.path.join(path, "payload")) as f:
            assert f.read() == str(i)  # each publisher's own content, none overwritten


def test_concurrent_thread_exports_get_distinct_complete_versions(tmp_path):
    base = str(tmp_path / "generator")
    gans = [image_gan(seed=s) for s in (11, 12, 13)]
    barrier = threading.Barrier(3)
    paths, errors = {}, []

    def run(i):
        try:
            barrier.wait()
            paths[i] = export.export_generator(gans[i], base, warmup=False)
        except Exception as e:  # reported below: a thread's exception would otherwise vanish
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(os.listdir(base)) == ["1", "2", "3"]
    z = gans[0].sample_latent(2, 0)
    for i, path in paths.items():
        served = tf.saved_model.load(path).signatures["serving_default"](z=z)["images"]
        # Each version holds the generator its own exporter wrote.
        np.testing.assert_allclose(served.numpy(), gans[i](z).numpy(), atol=1e-6)


CONCURRENT_EXPORTER = textwrap.dedent(
    """
    import os, sys, time
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import tfgan_orig
    from tfgan_orig import export, networks
    base, me, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    g = networks.paper_generator(8, hidden_units=(16,), output_shape=(4, 4, 1), seed=me)
    d = networks.paper_discriminator((4, 4, 1), units=8, pieces=2, seed=me)
    gan = tfgan_orig.GAN(g, d, latent_dim=8, seed=me)
    open(go + f".ready{me}", "w").close()
    while not os.path.exists(go):  # start all exports at once
        time.sleep(0.01)
    print(export.export_generator(gan, base))
    """
)


@pytest.mark.slow
def test_concurrent_process_exports_get_distinct_complete_versions(tmp_path):
    base, go = str(tmp_path / "generator"), str(tmp_path / "go")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_EXPORTER, base, str(i), go],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    try:
        for i in range(3):
            while not os.path.exists(f"{go}.ready{i}"):
                assert procs[i].poll() is None, procs[i].stderr.read()
                threading.Event().wait(0.05)
        open(go, "w").close()
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outs]
    paths = sorted(out.strip().splitlines()[-1] for out, _ in outs)
    assert paths == [os.path.join(base, v) for v in ("1", "2", "3")]
    assert sorted(os.listdir(base)) == ["1", "2", "3"]
    z = tf.random.stateless_normal([2, LATENT], seed=[0, 0])
    images = []
    for path in paths:
        model = tf.saved_model.load(path)  # complete: loads and runs
        assert os.path.exists(os.path.join(path, export.WARMUP_FILE))
        images.append(model.signatures["serving_default"](z=z)["images"].numpy())
    # Three generators with different weights: no version was overwritten by another.
    assert len({im.tobytes() for im in images}) == 3


# ------------------------------------------------------------------------------------ signatures
def test_generate_matches_gan_generate_and_is_deterministic(gan, loaded):
    out = run_generate(loaded, 5, 6)
    assert out["images"].dtype == tf.float32 and out["images"].shape == (6, *SHAPE)
    assert out[export.PNG_KEY].dtype == tf.string and out[export.PNG_KEY].shape == (6,)
    np.testing.assert_allclose(out["images"].numpy(), gan.generate(6, seed=5), atol=1e-6)
    again = run_generate(loaded, 5, 6)["images"].numpy()
    np.testing.assert_array_equal(again, out["images"].numpy())
    assert not np.allclose(run_generate(loaded, 6, 6)["images"].numpy(), again)
    images = out["images"].numpy()
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_png_bytes_decode_to_the_images(loaded):
    out = run_generate(loaded, 3, 2)
    for png, image in zip(out[export.PNG_KEY].numpy(), out["images"].numpy()):
        assert png.startswith(b"\x89PNG")
        decoded = tf.io.decode_png(png).numpy()
        assert decoded.dtype == np.uint8 and decoded.shape == SHAPE
        np.testing.assert_array_equal(decoded, np.round(image * 255).astype(np.uint8))


def test_serving_default_is_the_generator(gan, loaded):
    z = gan.sample_latent(3, 11)
    images = loaded.signatures["serving_default"](z=z)["images"].numpy()
    np.testing.assert_allclose(images, gan(z).numpy(), atol=1e-6)


def test_uniform_noise_is_the_gans_distribution(tmp_path):
    gan = image_gan(noise="uniform", seed=4)
    model = tf.saved_model.load(export.export_generator(gan, str(tmp_path), warmup=False))
    np.testing.assert_allclose(
        run_generate(model, 9, 4)["images"].numpy(), gan.generate(4, seed=9), atol=1e-6
    )


@pytest.mark.parametrize(
    "num, message",
    [(0, "num must be in \\[1, 1024\\]"), (-3, "num must be in"), (1025, "num must be in"),
     (2**31 - 1, "num must be in")],
)
def test_generate_rejects_bad_num(loaded, num, message):
    # 2**31 - 1 would need ~70 GB of noise: the check must come first.
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        run_generate(loaded, 0, num)


def test_signatures_reject_bad_inputs(loaded):
    serve = loaded.signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="latent_dim=8"):
        serve(z=tf.zeros([2, LATENT + 1]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="float"):
        serve(z=tf.zeros([2, LATENT], tf.float64))
    with pytest.raises(tf.errors.InvalidArgumentError, match="int64"):
        loaded.signatures["generate"](seed=tf.constant(1, tf.int32), num=tf.constant(2))
    with pytest.raises(TypeError):
        serve(x=tf.zeros([2, LATENT]))  # unknown input name


def test_max_num_is_configurable(gan, tmp_path):
    model = tf.saved_model.load(export.export_generator(gan, str(tmp_path), max_num=3))
    assert run_generate(model, 0, 3)["images"].shape[0] == 3
    with pytest.raises(tf.errors.InvalidArgumentError, match="num must be in \\[1, 3\\]"):
        run_generate(model, 0, 4)


def test_points_generator_exports_points_without_png(tmp_path):
    gan = points_gan()
    path = export.export_generator(gan, str(tmp_path))
    model = tf.saved_model.load(path)
    out = run_generate(model, 2, 5)
    assert set(out) == {"images"}  # no png for 2-D points
    assert out["images"].shape == (5, 2)
    np.testing.assert_allclose(out["images"].numpy(), gan.generate(5, seed=2), atol=1e-5)
    z = gan.sample_latent(3, 0)
    np.testing.assert_allclose(
        model.signatures["serving_default"](z=z)["images"].numpy(), gan(z).numpy(), atol=1e-5
    )
    with open(os.path.join(path, export.METADATA_FILE)) as f:
        assert json.load(f)["png"] is False
    # Batch-norm moving statistics restore in TF Serving's session path too.
    served = session_run(path, "serving_default", {"z": z.numpy()})["images"]
    np.testing.assert_allclose(served, gan(z).numpy(), atol=1e-5)


def test_output_range_inference():
    assert export.infer_output_range(image_gan().generator) == (0.0, 1.0)
    assert export.infer_output_range(conditional_gan().generator) == (-1.0, 1.0)
    assert export.infer_output_range(points_gan().generator) is None


def test_tanh_conditional_generator(tmp_path):
    gan = conditional_gan(num_classes=3)
    path = export.export_generator(gan, str(tmp_path))
    model = tf.saved_model.load(path)
    labels = tf.constant([2, 0, 1, 2], tf.int32)
    out = run_generate(model, 7, 4, labels=labels)
    expected = (gan.generate(4, seed=7, labels=labels.numpy()) + 1.0) / 2.0  # [-1,1] -> [0,1]
    np.testing.assert_allclose(out["images"].numpy(), expected, atol=1e-5)
    assert out["images"].shape == (4, 28, 28, 1) and out[export.PNG_KEY].shape == (4,)
    z = gan.sample_latent(2, 0)
    served = model.signatures["serving_default"](z=z, labels=labels[:2])["images"].numpy()
    np.testing.assert_allclose(served, (gan([z, labels[:2]]).numpy() + 1) / 2, atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_classes=3"):
        run_generate(model, 7, 2, labels=tf.constant([0, 3], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="one class id per sample"):
        run_generate(model, 7, 2, labels=tf.constant([0], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match=">= 0"):
        model.signatures["serving_default"](z=z, labels=tf.constant([0, -1], tf.int32))
    session = session_run(path, "generate", {"seed": 7, "num": 4, "labels": labels.numpy()})
    np.testing.assert_allclose(session["images"], expected, atol=1e-5)
    # The warmup requests carry labels too, or TF Serving's warmup would fail to load the model.
    for record in tf.data.TFRecordDataset(os.path.join(path, export.WARMUP_FILE)):
        request = prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
        assert "labels" in request.inputs
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        model.signatures[request.model_spec.signature_name](**inputs)


def test_explicit_output_range_maps_onto_unit_interval(tmp_path):
    gan = image_gan()
    # Pretend the sigmoid output lives in [-1, 1]: images must be (x + 1) / 2.
    model = tf.saved_model.load(
        export.export_generator(gan, str(tmp_path), output_range=(-1, 1), warmup=False)
    )
    np.testing.assert_allclose(
        run_generate(model, 1, 3)["images"].numpy(), (gan.generate(3, seed=1) + 1) / 2, atol=1e-6
    )


# ------------------------------------------------------------------------------------ warmup
def test_warmup_requests_replay_against_the_signatures(exported, loaded):
    path = os.path.join(exported, export.WARMUP_FILE)
    records = list(tf.data.TFRecordDataset(path).as_numpy_iterator())
    assert 0 < len(records) <= 1000  # TF Serving reads at most 1000
    seen = set()
    for record in records:
        log = prediction_log_pb2.PredictionLog.FromString(record)
        assert log.WhichOneof("log_type") == "predict_log"
        request = log.predict_log.request
        signature = request.model_spec.signature_name
        seen.add(signature)
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        outputs = loaded.signatures[signature](**inputs)
        batch = inputs["z"].shape[0] if signature == "serving_default" else int(inputs["num"])
        assert outputs["images"].shape == (batch, *SHAPE)
    assert seen == {"serving_default", "generate"}


# ------------------------------------------------------------------------------------ no tfgan_orig
FRESH_PROCESS = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

    class Blocker:  # the package is installed editable: make it unimportable for real
        def find_spec(self, name, path=None, target=None):
            if name == "tfgan_orig" or name.startswith("tfgan_orig."):
                raise ImportError("tfgan_orig is blocked in this process")
            return None

    sys.meta_path.insert(0, Blocker())
    try:
        import tfgan_orig
        blocked = False
    except ImportError:
        blocked = True
    import numpy as np
    import tensorflow as tf

    model = tf.saved_model.load(sys.argv[1])
    gen = model.signatures["generate"]
    serve = model.signatures["serving_default"]
    a = gen(seed=tf.constant(42, tf.int64), num=tf.constant(5))
    b = gen(seed=tf.constant(42, tf.int64), num=tf.constant(5))
    c = gen(seed=tf.constant(43, tf.int64), num=tf.constant(5))
    s = serve(z=tf.zeros([3, 8]))
    try:
        gen(seed=tf.constant(1, tf.int64), num=tf.constant(0))
        bad_num = "no error"
    except tf.errors.InvalidArgumentError as e:
        bad_num = e.message

    def error(fn):
        try:
            fn()
            return "no error"
        except tf.errors.InvalidArgumentError as e:
            return " ".join(line for line in e.message.splitlines() if "assertion failed" in line)
        except Exception as e:  # any other type is a failure of the contract
            return f"{type(e).__name__}: {e}"

    bad_z = {
        "nan": np.full([2, 8], np.nan, np.float32),
        "inf": np.full([2, 8], -np.inf, np.float32),
        "rank1": np.zeros([8], np.float32),
        "rank3": np.zeros([2, 8, 1], np.float32),
        "too_many": np.zeros([1025, 8], np.float32),
    }
    serve_errors = {k: error(lambda: serve(z=tf.constant(v))) for k, v in bad_z.items()}

    # TF Serving runs signatures in a TF1 session (SavedModelBundle) by tensor names from the
    # SignatureDefs: replay that path too.
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], sys.argv[1])
        gsig = meta.signature_def["generate"]
        seed_t, num_t = gsig.inputs["seed"].name, gsig.inputs["num"].name
        session_png = sess.run(gsig.outputs["png_bytes"].name, {seed_t: 42, num_t: 5})
        try:
            sess.run(gsig.outputs["images"].name, {seed_t: 1, num_t: 5000})
            session_bad_num = "no error"
        except tf.errors.InvalidArgumentError as e:
            session_bad_num = e.message
        # TF Serving feeds the request's tensor whatever its shape; Session.run's Python-side
        # shape check would refuse a rank-1 z before the graph runs, so feed through a callable.
        ssig = meta.signature_def["serving_default"]
        from tensorflow.core.protobuf import config_pb2

        options = config_pb2.CallableOptions(
            feed=[ssig.inputs["z"].name], fetch=[ssig.outputs["images"].name]
        )
        serve_session = sess._make_callable_from_options(options)
        session_serve_errors = {k: error(lambda: serve_session(v)) for k, v in bad_z.items()}
    im = a["images"].numpy()
    print(json.dumps({
        "blocked": blocked,
        "tfgan_loaded": any(m.startswith("tfgan_orig") for m in sys.modules if sys.modules[m]),
        "signatures": sorted(model.signatures),
        "generate_outputs": {k: [v.dtype.name, v.shape.as_list()] for k, v in a.items()},
        "serve_outputs": {k: [v.dtype.name, v.shape.as_list()] for k, v in s.items()},
        "range": [float(im.min()), float(im.max())],
        "same_seed_equal": bool(np.array_equal(im, b["images"].numpy())),
        "png_equal": bool(np.array_equal(a["png_bytes"].numpy(), b["png_bytes"].numpy())),
        "other_seed_differs": not np.allclose(im, c["images"].numpy()),
        "images_seed42": im.tolist(),
        "bad_num": bad_num,
        "session_bad_num": session_bad_num,
        "session_png_equal": list(session_png) == list(a["png_bytes"].numpy()),
        "serve_errors": serve_errors,
        "session_serve_errors": session_serve_errors,
    }))
    """
)


@pytest.fixture(scope="module")
def fresh_process_report(exported):
    result = subprocess.run(
        [sys.executable, "-I", "-c", FRESH_PROCESS, exported],
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_fresh_process_without_the_package_loads_and_runs(fresh_process_report, gan):
    r = fresh_process_report
    assert r["blocked"] and not r["tfgan_loaded"]
    assert r["signatures"] == ["generate", "serving_default"]
    assert r["generate_outputs"] == {
        "images": ["float32", [5, *SHAPE]],
        "png_bytes": ["string", [5]],
    }
    assert r["serve_outputs"] == {"images": ["float32", [3, *SHAPE]]}
    assert 0.0 <= r["range"][0] <= r["range"][1] <= 1.0
    assert r["same_seed_equal"] and r["png_equal"] and r["other_seed_differs"]
    # The same seed gives the same images in another process as `gan.generate` here.
    np.testing.assert_allclose(np.array(r["images_seed42"]), gan.generate(5, seed=42), atol=1e-6)
    assert "num must be in [1, 1024]" in r["bad_num"]
    assert "num must be in [1, 1024]" in r["session_bad_num"]
    assert r["session_png_equal"]


_BAD_Z_MESSAGES = {
    "nan": "z must be finite",
    "inf": "z must be finite",
    "rank1": "z must be float32 [batch, latent_dim=8]",
    "rank3": "z must be float32 [batch, latent_dim=8]",
    "too_many": "z must have 1 to max_num=1024 rows",
}


@pytest.mark.parametrize("where", ["serve_errors", "session_serve_errors"])
def test_fresh_process_serving_default_refuses_bad_z(fresh_process_report, where):
    """NaN/Inf, wrong rank and over-sized batches of `z` are InvalidArgumentErrors naming `z`, from
    the checks that gate the generator (not NaN images, not "In[0] is not a matrix"), both through
    tf.saved_model.load and in a TF1 session fed the way TF Serving feeds it."""
    errors = fresh_process_report[where]
    for case, message in _BAD_Z_MESSAGES.items():
        assert message in errors[case], (case, errors[case])
        assert "assertion failed" in errors[case], (case, errors[case])


def test_serving_default_batch_cap_is_max_num(gan, tmp_path):
    model = tf.saved_model.load(export.export_generator(gan, str(tmp_path), max_num=3, warmup=False))
    serve = model.signatures["serving_default"]
    assert serve(z=tf.zeros([3, LATENT]))["images"].shape[0] == 3
    for rows in (4, 0):
        with pytest.raises(tf.errors.InvalidArgumentError, match="z must have 1 to max_num=3 rows"):
            serve(z=tf.zeros([rows, LATENT]))


def test_points_serving_refuses_nan_z(tmp_path):
    """Points pass through unclipped: NaN z would come back as NaN points."""
    model = tf.saved_model.load(export.export_generator(points_gan(), str(tmp_path), warmup=False))
    with pytest.raises(tf.errors.InvalidArgumentError, match="z must be finite"):
        model.signatures["serving_default"](z=tf.constant([[0.0, np.nan]]))


def test_metadata_lists_every_signature_input_and_output(tmp_path):
    gan = conditional_gan(num_classes=3)
    path = export.export_generator(gan, str(tmp_path), max_num=7, warmup=False)
    with open(os.path.join(path, export.METADATA_FILE)) as f:
        signatures = json.load(f)["signatures"]
    assert signatures["serving_default"]["inputs"] == {
        "z": {"dtype": "float32", "shape": [None, 4]},
        "labels": {"dtype": "int32", "shape": [None]},
    }
    assert signatures["generate"]["inputs"] == {
        "seed": {"dtype": "int64", "shape": []},
        "num": {"dtype": "int32", "shape": []},
        "labels": {"dtype": "int32", "shape": [None]},
    }
    assert signatures["serving_default"]["outputs"] == {
        "images": {"dtype": "float32", "shape": [None, 28, 28, 1]}
    }
    assert signatures["generate"]["outputs"] == {
        "images": {"dtype": "float32", "shape": [None, 28, 28, 1]},
        "png_bytes": {"dtype": "string", "shape": [None]},
    }
    # The same names as the SignatureDefs TF Serving reads.
    model = tf.saved_model.load(path)
    for name, sig in signatures.items():
        fn = model.signatures[name]
        assert set(sig["inputs"]) == set(fn.structured_input_signature[1])
        assert set(sig["outputs"]) == set(fn.structured_outputs)


# ------------------------------------------------------------------------------------ saved_model_cli
def saved_model_cli(*args):
    return subprocess.run(
        [SAVED_MODEL_CLI, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


def test_saved_model_cli_show_lists_the_signatures(exported):
    result = saved_model_cli("show", "--dir", exported, "--all")
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "signature_def['serving_default']" in out and "signature_def['generate']" in out
    for name in ("inputs['z']", "inputs['seed']", "inputs['num']", "outputs['images']",
                 "outputs['png_bytes']"):
        assert name in out, name
    assert "shape: (-1, 8)" in out and "dtype: DT_INT64" in out


def test_saved_model_cli_run_serving_default(exported, tmp_path, gan):
    result = saved_model_cli(
        "run", "--dir", exported, "--tag_set", "serve", "--signature_def", "serving_default",
        "--input_exprs", f"z={[[0.5] * LATENT] * 2}", "--outdir", str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    images = np.load(tmp_path / "images.npy")
    np.testing.assert_allclose(images, gan(tf.fill((2, LATENT), 0.5)).numpy(), atol=1e-6)


def test_use_ema_exports_the_ema_generator(tmp_path):
    g = networks.paper_generator(LATENT, hidden_units=(16,), output_shape=SHAPE, seed=1)
    d = networks.paper_discriminator(SHAPE, units=8, pieces=2, seed=1)
    gan = tfgan_orig.GAN(g, d, latent_dim=LATENT, seed=1, ema_decay=0.5)
    # Move G away from its EMA copy so the two exports must differ.
    g.set_weights([w * 1.5 for w in g.get_weights()])
    ema = tf.saved_model.load(export.export_generator(gan, str(tmp_path), use_ema=True))
    plain = tf.saved_model.load(export.export_generator(gan, str(tmp_path)))
    ema_images = run_generate(ema, 3, 4)["images"].numpy()
    np.testing.assert_allclose(ema_images, gan.generate(4, seed=3, use_ema=True), atol=1e-6)
    np.testing.assert_allclose(
        run_generate(plain, 3, 4)["images"].numpy(), gan.generate(4, seed=3), atol=1e-6
    )
    assert not np.allclose(ema_images, gan.generate(4, seed=3), atol=1e-4)


# ------------------------------------------------------------------------------------ CLI
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def export_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "tfgan_orig.export", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""},
    )


def test_export_from_workdir_without_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        export.export_from_workdir(str(tmp_path))


@pytest.mark.slow
def test_cli_exports_the_latest_checkpoint(tmp_path):
    """Trains ring8 for a few steps with the training program, then exports with the CLI."""
    import runpy

    from tfgan_orig import train_lib

    config = runpy.run_path(os.path.join(REPO, "configs", "ring8.py"))["get_config"]()
    config.model.g_hidden_units = (8, 8)
    config.model.d_units = 8
    config.model.d_pieces = 2
    config.train.epochs = 1
    config.train.steps_per_epoch = 2
    config.train.batch_size = 10
    config.train.num_samples = 16
    config.train.verbose = 0
    config.train.export = False
    workdir = str(tmp_path / "run")
    train_lib.train_and_evaluate(config, workdir)

    result = export_cli(f"--workdir={workdir}", "--max_num=64")
    assert result.returncode == 0, result.stderr[-3000:]
    path = result.stdout.strip().splitlines()[-1]
    assert path == os.path.join(workdir, "export", "generator", "1")
    gan = train_lib.load_gan_from_workdir(workdir)
    model = tf.saved_model.load(path)
    np.testing.assert_allclose(
        run_generate(model, 8, 5)["images"].numpy(), gan.generate(5, seed=8), atol=1e-5
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="num must be in \\[1, 64\\]"):
        run_generate(model, 8, 65)

    taken = export_cli(f"--workdir={workdir}", "--version=1")
    assert taken.returncode == 1 and "error: Version 1 already exists" in taken.stderr
    missing = export_cli(f"--workdir={tmp_path / 'nothing'}")
    assert missing.returncode == 1 and "error:" in missing.stderr


def test_warmup_without_tensorflow_serving_api(gan, tmp_path, monkeypatch):
    """tensorflow-serving-api is an optional (--no-deps) install: by default the export still
    succeeds without warmup requests; asking for them explicitly names the install command."""
    import sys

    monkeypatch.setitem(sys.modules, "tensorflow_serving", None)
    monkeypatch.setitem(sys.modules, "tensorflow_serving.apis", None)
    path = export.export_generator(gan, str(tmp_path / "auto"))
    assert os.path.exists(os.path.join(path, "saved_model.pb"))
    assert not os.path.exists(os.path.join(path, export.WARMUP_FILE))
    with pytest.raises(ImportError, match="pip install --no-deps tensorflow-serving-api"):
        export.export_generator(gan, str(tmp_path / "required"), warmup=True)
    assert not os.path.exists(str(tmp_path / "required" / "0"))
