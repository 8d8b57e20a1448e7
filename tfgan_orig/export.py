"""Export a trained generator as a SavedModel that TF Serving loads as it is.

Layout: `<base_dir>/<version>/` with integer versions (TF Serving serves the highest). A version is
written to `<base_dir>/.tmp-<uuid>/` and renamed into place, so a server polling `base_dir` never
sees a half-written version (it ignores names that are not integers); an existing version is never
overwritten. Renaming is atomic on a local (POSIX) file system, not on object stores such as GCS.

Signatures (the serving contract; names are stable):

| signature | inputs | outputs |
| --- | --- | --- |
| `serving_default` | `z` float32 [batch, latent_dim], 1 <= batch <= max_num, finite (+ `labels` int32 [batch]) | `images` |
| `generate` | `seed` int64 [], `num` int32 [] (+ `labels` int32 [num]) | `images`, `png_bytes` |

- `images`: float32 [batch, H, W, C] in [0, 1] for image generators (the generator's
  `output_range` mapped affinely onto [0, 1] and clipped); for non-image generators (the 2-D
  mixtures, samples of rank 1) the samples in data space, [batch, d], unchanged.
- `png_bytes`: string [num], one PNG (uint8) per image. The `_bytes` suffix is what makes TF
  Serving's REST API return these strings base64-encoded as `{"b64": ...}` (tensorflow/serving
  `json_tensor.cc`, `IsNamedTensorBytes`); an output named plain `png` would be written as raw
  binary inside JSON. Omitted for non-image generators.
- `generate` draws `z = gan.sample_latent(num, seed)` (stateless, the GAN's own noise
  distribution), so a seed gives the same images as `gan.generate(num, seed)`, on every call.
  `num` must be in [1, max_num] (default 1024): anything else fails with InvalidArgumentError
  before any tensor of size `num` is allocated.
- `serving_default` refuses, with an InvalidArgumentError naming `z` and raised before the
  generator runs, a `z` of another rank or width, with more than `max_num` rows (or none), or
  with NaN/Inf entries.

`assets.extra/tfgan_orig_export.json` records the export: latent_dim, noise, num_classes,
sample_shape, output_range, max_num, png, use_ema, and for each signature its inputs and outputs
with dtype and shape (`null` = any size).

`assets.extra/tf_serving_warmup_requests` holds PredictionLog records for both signatures, which
TF Serving replays at load time so the first user request does not pay for graph warm-up.

The SavedModel contains only TensorFlow ops and variables: loading it needs neither Keras classes
nor this package.

Command line (restores the latest checkpoint of a training workdir):

    python -m tfgan_orig.export --workdir=/tmp/gan_mnist [--export_dir=/models/generator]
"""

import errno
import json
import os
import shutil
import uuid

import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig import builder
from tfgan_orig import workdir as workdir_lib

__all__ = [
    "DEFAULT_MAX_NUM",
    "IMAGES_KEY",
    "PNG_KEY",
    "WARMUP_FILE",
    "METADATA_FILE",
    "export_from_workdir",
    "export_generator",
    "infer_output_range",
    "next_version",
    "publish_version",
    "warmup_requests",
]

DEFAULT_MAX_NUM = 1024
IMAGES_KEY = "images"
PNG_KEY = "png_bytes"
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
METADATA_FILE = os.path.join("assets.extra", "tfgan_orig_export.json")

# Layers that only move values around: the generator's output range is set by the layer before.
_SHAPE_ONLY_LAYERS = ("Reshape", "Flatten", "Permute", "Cropping2D", "Identity", "InputLayer")
_RANGE_BY_ACTIVATION = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


# ------------------------------------------------------------------------------------ versions
def next_version(base_dir):
    """1 + the largest integer version directory in `base_dir` (1 if there is none)."""
    versions = [int(n) for n in _listdir(base_dir) if n.isdigit()]
    return max(versions, default=0) + 1


def _listdir(path):
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []


def publish_version(tmp_dir, base_dir, version=None, max_attempts=100):
    """Atomically renames the finished `tmp_dir` to `<base_dir>/<version>`; returns that path.

    With `version=None` the next free version is taken; when a concurrent exporter takes the same
    number first, the rename fails (the target is a non-empty directory) and the next number is
    tried. An explicit `version` that exists raises `FileExistsError`: versions are immutable.
    """
    if version is not None:
        target = os.path.join(base_dir, str(version))
        if os.path.exists(target) or not _rename_no_replace(tmp_dir, target):
            raise FileExistsError(
                f"Version {version} already exists in {base_dir}; versions are never overwritten. "
                "Pass version=None for the next free version."
            )
        return target
    for _ in range(max_attempts):
        target = os.path.join(base_dir, str(next_version(base_dir)))
        if not os.path.exists(target) and _rename_no_replace(tmp_dir, target):
            return target
    raise RuntimeError(f"No free version in {base_dir} after {max_attempts} attempts.")


def _rename_no_replace(src, dst):
    """`os.rename` that reports False (instead of raising) when `dst` is taken."""
    try:
        os.rename(src, dst)
    except OSError as e:
        # Linux refuses to rename a directory over a non-empty one (ENOTEMPTY, some systems EEXIST).
        if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        raise
    return True


# ------------------------------------------------------------------------------------ ranges
def infer_output_range(generator):
    """(lo, hi) of the generator's output from its final activation, or None if unknown.

    sigmoid -> (0, 1), tanh -> (-1, 1). Shape-only layers (Reshape, ...) at the end are skipped.
    """
    layers = list(getattr(generator, "layers", []))
    for layer in reversed(layers):
        if type(layer).__name__ in _SHAPE_ONLY_LAYERS:
            continue
        if hasattr(layer, "layers") and layer.layers:  # a nested model ends the generator
            return infer_output_range(layer)
        activation = getattr(layer, "activation", None)
        name = getattr(activation, "__name__", None)
        return _RANGE_BY_ACTIVATION.get(name)
    return None


def _resolve_output_range(generator, output_range):
    if output_range is None:
        inferred = infer_output_range(generator)
        if inferred is None:
            logging.warning(
                "Cannot infer the output range of generator %r from its final activation; "
                "assuming [0, 1]. Pass output_range=(lo, hi) to export_generator.",
                generator.name,
            )
            inferred = (0.0, 1.0)
        output_range = inferred
    try:
        lo, hi = (float(v) for v in output_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"output_range must be a pair (lo, hi). Received: output_range={output_range!r}"
        ) from None
    if not hi > lo:
        raise ValueError(f"output_range needs lo < hi. Received: output_range={output_range!r}")
    return lo, hi


# ------------------------------------------------------------------------------------ module
def _tf_variable(variable):
    """The `tf.Variable` behind a Keras 3 variable (TensorFlow backend)."""
    value = getattr(variable, "value", variable)
    if not isinstance(value, tf.Variable):
        raise TypeError(
            f"Cannot export variable {getattr(variable, 'path', variable)!r}: expected a Keras "
            f"variable backed by a tf.Variable (TensorFlow backend), got {type(value).__name__}."
        )
    return value


def _build_module(gan, generator, output_range, max_num):
    """A `tf.Module` holding the generator's variables and the two serving functions."""
    latent_dim = gan.latent_dim
    num_classes = gan.num_classes
    sample_shape = tuple(gan.sample_shape)
    is_image = len(sample_shape) >= 2
    lo, hi = output_range
    channels = sample_shape[-1] if len(sample_shape) == 3 else 1
    with_png = is_image and len(sample_shape) in (2, 3) and channels in (1, 2, 3, 4)

    def to_images(samples):
        samples = tf.cast(samples, tf.float32)
        if not is_image:
            return samples  # points in data space: the contract is "unchanged"
        if len(sample_shape) == 2:  # [H, W] -> [H, W, 1]: serving images always carry channels
            samples = samples[..., tf.newaxis]
        return tf.clip_by_value((samples - lo) / (hi - lo), 0.0, 1.0)

    def check_labels(labels, batch):
        return [
            tf.debugging.assert_equal(
                tf.size(labels),
                batch,
                message="labels must hold one class id per sample",
            ),
            tf.debugging.assert_non_negative(labels, message="labels must be >= 0"),
            tf.debugging.assert_less(
                labels,
                tf.constant(num_classes, tf.int32),
                message=f"labels must be < num_classes={num_classes}",
            ),
        ]

    def run_generator(z, labels):
        inputs = z if num_classes is None else [z, labels]
        return to_images(generator(inputs, training=False))

    z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
    seed_spec = tf.TensorSpec([], tf.int64, name="seed")
    num_spec = tf.TensorSpec([], tf.int32, name="num")
    labels_spec = tf.TensorSpec([None], tf.int32, name="labels")

    def check_z(z):
        """`z` checked before the generator runs: shape, then rows, then values.

        A TF Serving session feeds whatever shape the request has; without these checks a wrong
        latent size or rank surfaces as an opaque "In[0] is not a matrix" deep inside the
        generator, a huge batch is allocated, and NaN/Inf come back as garbage images. The shape
        test must not use `tf.rank(z)` or `z.shape`: they are the signature's static `[None,
        latent_dim]` (constant-folded to "rank 2"), not the fed tensor's. `size == rows *
        latent_dim` with every dimension after the first equal to `latent_dim` holds only for
        `[rows, latent_dim]`.
        """
        shape = tf.shape(z)
        rows = tf.reduce_prod(shape[:1])  # 1 for a scalar, whose size then fails the test
        shape_ok = tf.logical_and(
            tf.equal(tf.cast(tf.size(z), tf.int64), tf.cast(rows, tf.int64) * latent_dim),
            tf.reduce_all(tf.equal(shape[1:], latent_dim)),
        )
        checks = [
            tf.debugging.Assert(
                shape_ok,
                [f"z must be float32 [batch, latent_dim={latent_dim}]. Received shape:", shape],
            )
        ]
        with tf.control_dependencies(checks):
            checks.append(
                tf.debugging.Assert(
                    tf.logical_and(rows >= 1, rows <= max_num),
                    [
                        f"z must have 1 to max_num={max_num} rows (max_num is set at export "
                        "time). Received rows:",
                        rows,
                    ],
                )
            )
        with tf.control_dependencies(checks):  # scan the values only of a z of accepted size
            checks.append(
                tf.debugging.Assert(
                    tf.reduce_all(tf.math.is_finite(z)),
                    ["z must be finite (no NaN or Inf)."],
                )
            )
        return checks

    def serve_impl(z, labels=None):
        with tf.control_dependencies(check_z(z)):
            z = tf.identity(z)
        if labels is not None:
            with tf.control_dependencies(check_labels(labels, tf.shape(z)[0])):
                labels = tf.identity(labels)
        return {IMAGES_KEY: run_generator(z, labels)}

    def generate_impl(seed, num, labels=None):
        checks = [
            tf.debugging.assert_greater_equal(
                num, 1, message=f"num must be in [1, {max_num}] (got a smaller value)"
            ),
            tf.debugging.assert_less_equal(
                num,
                max_num,
                message=f"num must be in [1, {max_num}]; max_num is set at export time",
            ),
        ]
        # The checks gate everything after them, so a bad `num` never reaches an allocation.
        with tf.control_dependencies(checks):
            num = tf.identity(num)
        if labels is not None:
            with tf.control_dependencies(check_labels(labels, num)):
                labels = tf.identity(labels)
        z = gan.sample_latent(num, seed)
        images = run_generator(z, labels)
        outputs = {IMAGES_KEY: images}
        if with_png:
            pixels = tf.cast(tf.round(images * 255.0), tf.uint8)
            outputs[PNG_KEY] = tf.map_fn(
                tf.io.encode_png, pixels, fn_output_signature=tf.TensorSpec([], tf.string)
            )
        return outputs

    if num_classes is None:
        serve = tf.function(lambda z: serve_impl(z), input_signature=[z_spec])
        generate = tf.function(
            lambda seed, num: generate_impl(seed, num), input_signature=[seed_spec, num_spec]
        )
    else:
        serve = tf.function(
            lambda z, labels: serve_impl(z, labels), input_signature=[z_spec, labels_spec]
        )
        generate = tf.function(
            lambda seed, num, labels: generate_impl(seed, num, labels),
            input_signature=[seed_spec, num_spec, labels_spec],
        )

    module = tf.Module(name="tfgan_generator")
    # Track the generator's underlying tf.Variables, not the Keras model or Keras variables: a
    # Keras 3 variable is saved as a *new* tf.Variable copied from the one the functions read, so
    # the checkpoint restores into a variable nothing uses. tf.saved_model.load hides this, but a
    # TF1 session (TF Serving, saved_model_cli) fails with "Could not find variable ..."
    # (keras-team/keras#20095, tensorflow/tensorflow#72963).
    module.tf_variables = [_tf_variable(v) for v in generator.variables]
    module.serve = serve
    module.generate = generate
    signatures = {
        "serving_default": serve.get_concrete_function(),
        "generate": generate.get_concrete_function(),
    }
    return module, signatures, with_png


def _spec_metadata(spec):
    return {"dtype": spec.dtype.name, "shape": spec.shape.as_list()}


def _signature_metadata(signatures):
    """`{signature: {"inputs": {name: {dtype, shape}}, "outputs": {...}}}` (None: any size).

    Input names are the TensorSpecs' (what the SignatureDefs and TF Serving requests use): the
    concrete functions take them positionally, so `structured_input_signature[1]` is empty.
    """
    return {
        name: {
            "inputs": {spec.name: _spec_metadata(spec) for spec in fn.structured_input_signature[0]},
            "outputs": {k: _spec_metadata(v) for k, v in sorted(fn.structured_outputs.items())},
        }
        for name, fn in signatures.items()
    }


# ------------------------------------------------------------------------------------ warmup
_SERVING_API_INSTALL = "pip install --no-deps tensorflow-serving-api==2.21.0"


def _serving_protos_available():
    try:
        from tensorflow_serving.apis import prediction_log_pb2  # noqa: F401
    except ImportError:
        return False
    return True


def warmup_requests(gan, model_name="generator", batch_sizes=(1, 4)):
    """PredictionLog protos TF Serving replays at load: both signatures, a few batch sizes."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    logs = []
    for i, batch in enumerate(batch_sizes):
        z = gan.sample_latent(batch, i).numpy().astype(np.float32)
        labels = np.arange(batch, dtype=np.int32) % (gan.num_classes or 1)
        requests = [
            ("serving_default", {"z": z}),
            ("generate", {"seed": np.int64(i), "num": np.int32(batch)}),
        ]
        for signature, inputs in requests:
            if gan.num_classes is not None:
                inputs["labels"] = labels
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature)
            )
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            logs.append(
                prediction_log_pb2.PredictionLog(
                    predict_log=prediction_log_pb2.PredictLog(request=request)
                )
            )
    return logs


def _write_warmup(export_dir, logs):
    path = os.path.join(export_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for log in logs:
            writer.write(log.SerializeToString())


# ------------------------------------------------------------------------------------ export
def export_generator(
    gan,
    base_dir,
    version=None,
    output_range=None,
    max_num=DEFAULT_MAX_NUM,
    warmup=None,
    use_ema=False,
    model_name="generator",
):
    """Writes the GAN's generator as a TF Serving SavedModel version; returns its path.

    Args:
      gan: a `tfgan_orig.GAN` (its generator, `latent_dim`, `noise`, `num_classes` are exported).
      base_dir: the model's base directory (what TF Serving's `base_path` points at).
      version: integer version; `None` takes max existing + 1. An existing version is an error.
      output_range: `(lo, hi)` of the generator's output, mapped onto [0, 1] for `images`;
        `None` infers it from the final activation (sigmoid (0, 1), tanh (-1, 1); otherwise
        (0, 1) with a warning). Ignored for non-image generators.
      max_num: the largest `num` the `generate` signature accepts.
      warmup: write `assets.extra/tf_serving_warmup_requests` (needs tensorflow-serving-api's
        protos). `None`: write it if that package is installed, else warn and skip; `True`:
        required (ImportError naming the install command if missing); `False`: skip.
      use_ema: export `gan.ema_generator` (an exponential moving average of the generator's
        weights) instead of `gan.generator`, with batch-norm statistics of its own
        (`GAN.refresh_ema_statistics`).
      model_name: model name written into the warmup requests' ModelSpec.

    Returns:
      The path of the new version directory.
    """
    if version is not None and (int(version) != version or version < 0):
        raise ValueError(f"version must be an integer >= 0 or None. Received: version={version!r}")
    if int(max_num) != max_num or max_num < 1:
        raise ValueError(f"max_num must be an integer >= 1. Received: max_num={max_num!r}")
    max_num = int(max_num)
    if use_ema:
        generator = getattr(gan, "ema_generator", None)
        if generator is None:
            raise ValueError(
                "use_ema=True but the GAN has no `ema_generator` (it was built without "
                "ema_decay). Valid choices: use_ema=False, or a GAN(..., ema_decay=0.999)."
            )
        gan.refresh_ema_statistics()  # its own batch-norm statistics, not the live G's
    else:
        generator = gan.generator
    output_range = _resolve_output_range(generator, output_range)
    if warmup is None:
        warmup = _serving_protos_available()
        if not warmup:
            logging.warning(
                "tensorflow-serving-api is not installed: exporting without TF Serving warmup "
                "requests. Install its protos with `%s` to get them.",
                _SERVING_API_INSTALL,
            )
    elif warmup and not _serving_protos_available():
        raise ImportError(
            f"warmup=True needs tensorflow-serving-api's protos. Install them with "
            f"`{_SERVING_API_INSTALL}` (--no-deps: the wheel declares the full tensorflow package)."
        )

    module, signatures, with_png = _build_module(gan, generator, output_range, max_num)
    os.makedirs(base_dir, exist_ok=True)
    tmp_dir = os.path.join(base_dir, f".tmp-{uuid.uuid4().hex}")
    try:
        tf.saved_model.save(module, tmp_dir, signatures=signatures)
        if warmup:
            _write_warmup(tmp_dir, warmup_requests(gan, model_name))
        metadata = {
            "latent_dim": gan.latent_dim,
            "noise": gan.noise,
            "num_classes": gan.num_classes,
            "sample_shape": list(gan.sample_shape),
            "output_range": list(output_range),
            "max_num": max_num,
            "png": with_png,
            "use_ema": bool(use_ema),
            "signatures": _signature_metadata(signatures),
        }
        meta_path = os.path.join(tmp_dir, METADATA_FILE)
        os.makedirs(os.path.dirname(meta_path), exist_ok=True)
        with open(meta_path, "w") as f:
            json.dump(metadata, f, indent=2)
        path = publish_version(tmp_dir, base_dir, version)
    finally:
        if os.path.exists(tmp_dir):
            shutil.rmtree(tmp_dir, ignore_errors=True)
    logging.info("Exported generator to %s", path)
    return path


# ------------------------------------------------------------------------------------ a workdir
def export_from_workdir(workdir, export_dir=None, **kwargs):
    """Restores the GAN of `workdir`'s latest checkpoint and exports it; returns the version path.

    `export_dir` defaults to `<workdir>/export/generator`; `kwargs` go to `export_generator`.
    """
    export_dir = export_dir or workdir_lib.paths(workdir)["export"]
    workdir_lib.check_writable(export_dir, "export directory")  # before restoring anything
    gan = builder.load_gan_from_workdir(workdir)
    return export_generator(gan, export_dir, **kwargs)


if __name__ == "__main__":  # `python -m tfgan_orig.export`: the program is tfgan_orig.cli.export
    # Run by name, not imported: the library never imports the CLI layer (no import cycle).
    import runpy

    runpy.run_module("tfgan_orig.cli.export", run_name="__main__", alter_sys=True)
