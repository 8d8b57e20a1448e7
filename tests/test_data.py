"""Data: the 2-D mixtures' statistics, the IDX reader, pipelines, and the fast offline error."""

import gzip
import struct
import time

import numpy as np
import pytest
import tensorflow as tf

from tfgan_orig import data


def test_ring8_statistics():
    x, mode = data.ring8(num=100000, seed=0)
    assert x.shape == (100000, 2) and x.dtype == np.float32
    centres = data.ring_modes()
    np.testing.assert_allclose(centres[2], [0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 1.0, rtol=1e-6)
    residual = x - centres[mode]
    np.testing.assert_allclose(residual.std(axis=0), [0.01, 0.01], rtol=0.02)
    counts = np.bincount(mode, minlength=8) / len(mode)
    np.testing.assert_allclose(counts, 1 / 8, atol=0.005)


def test_grid25_statistics():
    x, mode = data.grid25(num=100000, seed=0)
    centres = data.grid_modes()
    assert centres.shape == (25, 2)
    assert set(np.unique(centres)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    np.testing.assert_allclose((x - centres[mode]).std(axis=0), [0.05, 0.05], rtol=0.02)
    np.testing.assert_allclose(np.bincount(mode, minlength=25) / len(mode), 1 / 25, atol=0.004)
    # Nearest centre recovers the generating mode (modes are 40 std apart).
    nearest = np.argmin(((x[:1000, None] - centres[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(nearest, mode[:1000])


def _write_idx(path, array, type_code=0x08):
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(">u1").tobytes())


def _fake_mnist_dir(tmp_path, n_train=12, n_test=4):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=(n,), dtype=np.uint8)
        img_file, lbl_file = data._IDX_FILES[split]
        _write_idx(tmp_path / img_file, images)
        _write_idx(tmp_path / lbl_file, labels)
        arrays[split] = (images, labels)
    return arrays


def test_idx_reader_and_loading_from_a_directory(tmp_path):
    arrays = _fake_mnist_dir(tmp_path)
    images, labels = arrays["train"]
    np.testing.assert_array_equal(data.read_idx(tmp_path / data._IDX_FILES["train"][0]), images)
    x, y = data.load_arrays("mnist", "test", data_dir=str(tmp_path))
    assert x.shape == (4, 28, 28, 1) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[..., 0], arrays["test"][0])
    np.testing.assert_array_equal(y, arrays["test"][1])


def test_idx_reader_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"\x01\x02\x08\x01\x00\x00\x00\x05")
    with pytest.raises(ValueError, match="bad magic"):
        data.read_idx(bad)
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as f:
        f.write(struct.pack(">BBBBI", 0, 0, 8, 1, 10) + b"\x00" * 3)
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(short)


def test_pipeline_scaling_batching_and_labels(tmp_path):
    _fake_mnist_dir(tmp_path, n_train=10)
    ds = data.make_dataset("mnist", 4, data_dir=str(tmp_path), value_range=(-1.0, 1.0), with_labels=True)
    batches = list(ds)
    assert len(batches) == 2  # drop_remainder: 10 examples -> 2 batches of 4
    x, y = batches[0]
    assert x.shape == (4, 28, 28, 1) and x.dtype == tf.float32 and y.dtype == tf.int32
    assert float(tf.reduce_min(x)) >= -1.0 and float(tf.reduce_max(x)) <= 1.0
    points = next(iter(data.make_dataset("ring8", 16)))
    assert points.shape == (16, 2)
    with pytest.raises(ValueError, match="larger than the dataset"):
        data.make_dataset("mnist", 64, data_dir=str(tmp_path))


def test_unknown_dataset_lists_choices():
    with pytest.raises(ValueError, match="Valid choices.*fashion_mnist.*ring8"):
        data.make_dataset("fashon_mnist", 8)


@pytest.mark.skipif(data._online(), reason="needs a machine without internet")
def test_offline_without_a_local_copy_fails_fast_with_hints(tmp_path):
    start = time.monotonic()
    with pytest.raises(data.DataNotFoundError, match="IDX files") as err:
        data.make_dataset("mnist", 8, data_dir=str(tmp_path))
    assert time.monotonic() - start < 30  # tfds itself would retry for minutes
    assert "data_dir" in str(err.value)


def test_debian_fashion_mnist_is_found_without_data_dir():
    if data._idx_dir("fashion_mnist", None) is None:
        pytest.skip("dataset-fashion-mnist is not installed")
    x, y = data.load_arrays("fashion_mnist", "test")
    assert x.shape == (10000, 28, 28, 1) and set(np.unique(y)) == set(range(10))



# ------------------------------------------------------------------------------------ the pipeline
def test_training_dataset_replays_any_epoch():
    x = np.arange(40, dtype=np.uint8).reshape(40, 1, 1, 1)
    full = [b.numpy() for b in data.training_dataset(x, 4, 3, seed=5, start_epoch=0,
                                                          end_epoch=3, value_range=(0.0, 255.0))]
    tail = [b.numpy() for b in data.training_dataset(x, 4, 3, seed=5, start_epoch=2,
                                                          end_epoch=3, value_range=(0.0, 255.0))]
    assert len(full) == 9 and len(tail) == 3
    np.testing.assert_array_equal(np.stack(full[6:]), np.stack(tail))
    # Each epoch is a fresh permutation: no repeats inside an epoch, different epochs differ.
    epoch0 = np.concatenate(full[:3]).ravel()
    assert len(set(epoch0.tolist())) == 12
    assert not np.array_equal(np.concatenate(full[:3]), np.concatenate(full[3:6]))
    # Pixels map to value_range: uint8 v -> v / 255 * (hi - lo) + lo.
    assert set(epoch0.tolist()) <= set(float(v) for v in range(40))


def test_make_dataset_is_the_training_pipeline():
    """The README's `make_dataset` (and the benchmarks') yields exactly what training runs."""
    x, _ = data.load_arrays("ring8", "train", seed=3)
    x = x[:64]
    mine = [b.numpy() for b in data.make_dataset("ring8", 16, seed=3, limit=64)]
    training = [b.numpy() for b in data.training_dataset(x, 16, 4, seed=3, start_epoch=0,
                                                         end_epoch=1)]
    assert len(mine) == 4
    np.testing.assert_array_equal(np.stack(mine), np.stack(training))
    repeated = data.make_dataset("ring8", 16, seed=3, limit=64, repeat=True)
    first_two_epochs = [b.numpy() for b in repeated.take(8)]
    np.testing.assert_array_equal(np.stack(first_two_epochs[:4]), np.stack(mine))
    assert not np.array_equal(np.stack(first_two_epochs[4:]), np.stack(mine))  # epoch 1 reorders
