"""Feature networks for sample-quality metrics: a classifier trained here, and InceptionV3.

Fréchet distance, KID, precision/recall and density/coverage compare *features* of real and generated
images; the classifier score needs class probabilities. Two networks provide them:

- `ClassifierFeatures`: a small CNN this package trains on the dataset's own labels (as TF-GAN did for
  MNIST with its own classifier). It needs no download, so every number can be measured offline.
  Features are the 128-d penultimate layer (after ReLU). The trained model is cached at
  `$TFGAN_ORIG_CACHE/classifiers/<dataset>.keras` (default `~/.cache/tfgan_orig/...`) with a JSON
  record of its test accuracy next to it, and reused by every later evaluation.
- `InceptionFeatures`: InceptionV3 with ImageNet weights from `keras.applications`, following TF-GAN's
  conventions: images resized to 299x299 (bilinear), grayscale tiled to 3 channels, pixels scaled to
  [-1, 1], features = the 2048-d global average pool ("pool_3"). Keras' ImageNet weights are not TF-GAN's
  2015 graph, so numbers are close to but not interchangeable with published FIDs. The weights must be
  on disk (no download is attempted): pass `weights=PATH`, set `TFGAN_ORIG_INCEPTION_WEIGHTS`, or have
  Keras' cache hold `inception_v3_weights_tf_dim_ordering_tf_kernels[_notop].h5`.

Both take images as float `[n, H, W, C]` in [0, 1] (uint8 `[0, 255]` is accepted and rescaled) and
have a `name` that every reported number carries.
"""

import datetime
import inspect
import json
import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_orig import data as data_lib
from tfgan_orig import workdir as workdir_lib

__all__ = [
    "CACHE_ENV",
    "INCEPTION_WEIGHTS_ENV",
    "MIN_TEST_ACCURACY",
    "ClassifierFeatures",
    "InceptionFeatures",
    "build_classifier",
    "cache_dir",
    "classifier_path",
    "load_classifier",
    "train_classifier",
]

CACHE_ENV = "TFGAN_ORIG_CACHE"
INCEPTION_WEIGHTS_ENV = "TFGAN_ORIG_INCEPTION_WEIGHTS"
# The accuracy a cached classifier must reach to be trusted as a feature network (issue 7).
MIN_TEST_ACCURACY = {"fashion_mnist": 0.90, "mnist": 0.98}
FEATURES_LAYER = "features"
_INCEPTION_NOTOP = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
_INCEPTION_TOP = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"


def cache_dir():
    """`$TFGAN_ORIG_CACHE/classifiers`, default `~/.cache/tfgan_orig/classifiers`."""
    default = os.path.join(os.path.expanduser("~"), ".cache", "tfgan_orig")
    root = os.environ.get(CACHE_ENV) or default
    return os.path.join(root, "classifiers")


def classifier_path(dataset):
    """Where the classifier of `dataset` is cached (`<cache_dir>/<dataset>.keras`)."""
    return os.path.join(cache_dir(), f"{dataset}.keras")


def _as_unit_images(images):
    """uint8 [0, 255] or float [0, 1] images -> float32 [0, 1]; rejects other ranges."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    images = images.astype(np.float32)
    if images.size and (images.min() < -1e-3 or images.max() > 1.0 + 1e-3):
        raise ValueError(
            "Feature networks take images in [0, 1] (or uint8). Received values in "
            f"[{images.min():.3f}, {images.max():.3f}]; rescale [-1, 1] images with (x + 1) / 2."
        )
    return np.clip(images, 0.0, 1.0)


# ------------------------------------------------------------------------------------- classifier
def build_classifier(input_shape=(28, 28, 1), num_classes=10, seed=None):
    """The feature classifier: two conv blocks, a 128-unit feature layer, then class logits.

    conv 3x3x32 -> BN -> ReLU -> maxpool 2 -> conv 3x3x64 -> BN -> ReLU -> maxpool 2 ->
    dense 128 -> ReLU (layer "features") -> dropout 0.3 -> dense `num_classes` (logits).

    Args:
      input_shape: image shape `(H, W, C)`; inputs are float in [0, 1].
      num_classes: number of labels.
      seed: optional int for reproducible initial weights.

    Returns:
      A `keras.Model` mapping images `[batch, H, W, C]` in [0, 1] to logits `[batch, num_classes]`.
    """

    def init(i):
        return keras.initializers.GlorotUniform(None if seed is None else seed + i)

    x = keras.Input(tuple(input_shape), name="image")
    # Centre the [0, 1] pixels so the first layer sees zero-mean inputs.
    h = keras.layers.Rescaling(2.0, offset=-1.0, name="to_signed")(x)
    for i, filters in enumerate((32, 64)):
        h = keras.layers.Conv2D(
            filters, 3, padding="same", use_bias=False, kernel_initializer=init(i), name=f"conv_{i}"
        )(h)
        h = keras.layers.BatchNormalization(name=f"bn_{i}")(h)
        h = keras.layers.ReLU(name=f"relu_{i}")(h)
        h = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    h = keras.layers.Dense(128, kernel_initializer=init(10), name="dense")(h)
    h = keras.layers.ReLU(name=FEATURES_LAYER)(h)
    h = keras.layers.Dropout(0.3, seed=seed, name="dropout")(h)
    logits = keras.layers.Dense(num_classes, kernel_initializer=init(11), name="logits")(h)
    return keras.Model(x, logits, name="feature_classifier")


def train_classifier(
    dataset="fashion_mnist",
    data_dir=None,
    epochs=8,
    batch_size=128,
    learning_rate=1e-3,
    limit=None,
    seed=0,
    verbose=2,
):
    """Trains the feature classifier on `dataset`'s train split and measures its test accuracy.

    Adam with a cosine-decayed learning rate, softmax cross-entropy on logits.

    Args:
      dataset: an image dataset name of `tfgan_orig.data.IMAGE_DATASETS`.
      data_dir: passed to `tfgan_orig.data.load_arrays`.
      epochs, batch_size, learning_rate: training schedule.
      limit: train on only the first `limit` training images (quick tests).
      seed: seeds initial weights, dropout and shuffling.
      verbose: Keras `fit` verbosity.

    Returns:
      `(model, test_accuracy)`.
    """
    info = data_lib.info(dataset)
    if info.kind != "image" or info.num_classes is None:
        raise ValueError(
            f"A feature classifier needs a labelled image dataset. Received: dataset={dataset!r}; "
            f"valid choices: {sorted(data_lib.IMAGE_DATASETS)}."
        )
    keras.utils.set_random_seed(seed)
    x, y = data_lib.load_arrays(dataset, "train", data_dir)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    x_test, y_test = data_lib.load_arrays(dataset, "test", data_dir)
    x, x_test = _as_unit_images(x), _as_unit_images(x_test)
    model = build_classifier(info.shape, info.num_classes, seed=seed)
    steps = epochs * int(np.ceil(len(x) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(steps, 1))
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    return model, float(accuracy)


def load_classifier(dataset="fashion_mnist", data_dir=None, train_if_missing=True, **train_kwargs):
    """The cached classifier of `dataset`, trained and cached first if there is none.

    Args:
      dataset: image dataset name.
      data_dir: passed to the data loader when training.
      train_if_missing: if False, a missing cache raises `FileNotFoundError`.
      **train_kwargs: passed to `train_classifier` when training.

    Returns:
      `(model, record)`: the Keras model (logits) and its JSON record
      (`test_accuracy`, `epochs`, `num_train`, `created`, `keras_version`).
    """
    path = classifier_path(dataset)
    record_path = path[: -len(".keras")] + ".json"
    if not os.path.exists(path):
        if not train_if_missing:
            raise FileNotFoundError(
                f"No cached classifier for {dataset!r} at {path}. Train one with "
                f"tfgan_orig.classifier.load_classifier({dataset!r}) or set ${CACHE_ENV}."
            )
        logging.info("Training the %s feature classifier (cached at %s).", dataset, path)
        model, accuracy = train_classifier(dataset, data_dir, **train_kwargs)
        defaults = inspect.signature(train_classifier).parameters  # the defaults, written once
        record = {
            "dataset": dataset,
            "test_accuracy": accuracy,
            "epochs": train_kwargs.get("epochs", defaults["epochs"].default),
            "num_train": train_kwargs.get("limit") or data_lib.info(dataset).num_train,
            "seed": train_kwargs.get("seed", defaults["seed"].default),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "keras_version": keras.__version__,
        }
        # Write-then-rename: a concurrent evaluation never reads a half-written model.
        with workdir_lib.replacing(path, suffix=".keras") as tmp:
            model.save(tmp)
        workdir_lib.write_json(record, record_path)
    model = keras.saving.load_model(path)
    record = {}
    if os.path.exists(record_path):
        with open(record_path) as f:
            record = json.load(f)
    needed = MIN_TEST_ACCURACY.get(dataset)
    accuracy = record.get("test_accuracy")
    if needed is not None and accuracy is not None and accuracy < needed:
        logging.warning(
            "The cached %s classifier has test accuracy %.4f < %.2f; its features are a weak "
            "yardstick. Delete %s to retrain.",
            dataset,
            accuracy,
            needed,
            path,
        )
    return model, record


class ClassifierFeatures:
    """Penultimate-layer features and class probabilities of the cached dataset classifier.

    Args:
      dataset: image dataset the classifier was trained on.
      model: optional classifier (from `build_classifier`/`train_classifier`); default: the cached
        one from `load_classifier(dataset)`, trained on first use.
      data_dir: passed to the data loader if the classifier must be trained.
      batch_size: inference batch size.
    """

    def __init__(self, dataset="fashion_mnist", model=None, data_dir=None, batch_size=500):
        if model is None:
            model, self.record = load_classifier(dataset, data_dir)
        else:
            self.record = {}
        self.dataset = dataset
        self.model = model
        self.batch_size = int(batch_size)
        self.name = f"classifier/{dataset}"
        features = model.get_layer(FEATURES_LAYER).output
        self._both = keras.Model(model.inputs, [features, model.outputs[0]])
        self._apply = tf.function(lambda x: self._both(x, training=False), reduce_retracing=True)

    @property
    def test_accuracy(self):
        return self.record.get("test_accuracy")

    def _run(self, images):
        images = _as_unit_images(images)
        feats, logits = [], []
        for start in range(0, len(images), self.batch_size):
            f, l = self._apply(tf.constant(images[start : start + self.batch_size]))
            feats.append(f.numpy())
            logits.append(l.numpy())
        return np.concatenate(feats).astype(np.float64), np.concatenate(logits).astype(np.float64)

    def features(self, images):
        """Images `[n, H, W, C]` in [0, 1] -> float64 features `[n, 128]`."""
        return self._run(images)[0]

    def logits(self, images):
        """Images `[n, H, W, C]` in [0, 1] -> float64 class logits `[n, num_classes]`."""
        return self._run(images)[1]

    def features_and_logits(self, images):
        """Both at once (one forward pass)."""
        return self._run(images)


# --------------------------------------------------------------------------------------- inception
def _find_inception_weights(include_top):
    """Path of local InceptionV3 ImageNet weights, or None."""
    env = os.environ.get(INCEPTION_WEIGHTS_ENV)
    if env:
        return env if os.path.exists(env) else None
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    name = _INCEPTION_TOP if include_top else _INCEPTION_NOTOP
    path = os.path.join(keras_home, "models", name)
    return path if os.path.exists(path) else None


def inception_available():
    """True if InceptionV3 ImageNet weights are on disk (with or without the top)."""
    return bool(_find_inception_weights(False) or _find_inception_weights(True))


class InceptionFeatures:
    """InceptionV3 pool features (2048-d) with TF-GAN's input conventions.

    Images `[n, H, W, C]` in [0, 1] are tiled to 3 channels if grayscale, resized to 299x299
    (bilinear) and scaled to [-1, 1] (`keras.applications.inception_v3.preprocess_input`).

    Args:
      weights: a path to an `.h5` weights file; "auto" finds local ImageNet weights (see module
        docstring) and raises `FileNotFoundError` if there are none; None builds random weights
        (only to test the plumbing: its numbers mean nothing, and its name says so).
      batch_size: inference batch size.
    """

    IMAGE_SIZE = 299

    def __init__(self, weights="auto", batch_size=100):
        include_top = False
        if weights == "auto":
            weights = _find_inception_weights(include_top=True)
            include_top = weights is not None
            if weights is None:
                weights = _find_inception_weights(include_top=False)
            if weights is None:
                raise FileNotFoundError(
                    "No InceptionV3 ImageNet weights on this machine (no download is attempted). "
                    f"Set ${INCEPTION_WEIGHTS_ENV} to an .h5 file or place {_INCEPTION_NOTOP} in "
                    "~/.keras/models; or use the offline feature network (--feature_network="
                    "classifier)."
                )
        elif weights is not None:
            if not os.path.exists(weights):
                raise FileNotFoundError(f"InceptionV3 weights file not found: {weights!r}")
            include_top = os.path.basename(weights) == _INCEPTION_TOP
        size = self.IMAGE_SIZE
        base = keras.applications.InceptionV3(
            include_top=include_top,
            weights=weights,
            input_shape=(size, size, 3),
            pooling=None if include_top else "avg",
        )
        if include_top:
            pool = base.get_layer("avg_pool").output
            # Class logits: the pre-softmax input of the top layer.
            top = base.layers[-1]
            logits = keras.ops.matmul(pool, top.kernel) + top.bias
            self._model = keras.Model(base.input, [pool, logits])
        else:
            self._model = base
        self.has_logits = include_top
        self.batch_size = int(batch_size)
        self.name = "inception_v3" if weights is not None else "inception_v3(random weights)"
        self._apply = tf.function(self._forward, reduce_retracing=True)

    def _forward(self, images):
        if images.shape[-1] == 1:
            images = tf.tile(images, [1, 1, 1, 3])
        images = tf.image.resize(images, [self.IMAGE_SIZE, self.IMAGE_SIZE], method="bilinear")
        return self._model(images * 2.0 - 1.0, training=False)

    def _run(self, images):
        images = _as_unit_images(images)
        feats, logits = [], []
        for start in range(0, len(images), self.batch_size):
            out = self._apply(tf.constant(images[start : start + self.batch_size]))
            if self.has_logits:
                feats.append(out[0].numpy())
                logits.append(out[1].numpy())
            else:
                feats.append(out.numpy())
        feats = np.concatenate(feats).astype(np.float64)
        return feats, (np.concatenate(logits).astype(np.float64) if logits else None)

    def features(self, images):
        """Images `[n, H, W, C]` in [0, 1] -> float64 pool features `[n, 2048]`."""
        return self._run(images)[0]

    def logits(self, images):
        """ImageNet logits `[n, 1000]`; needs the weights with the top."""
        if not self.has_logits:
            raise ValueError(
                "These InceptionV3 weights have no classification top; the Inception score needs "
                f"{_INCEPTION_TOP}."
            )
        return self._run(images)[1]

    def features_and_logits(self, images):
        """(features, logits or None)."""
        return self._run(images)
