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


# ------------------------------------------------------------------------------------ bad IDX files
def _write_raw_idx(path, array, type_code, ndim=None):
    """An IDX file of any element type (big-endian, as the format stores it)."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[type_code]
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim if ndim is None else ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.asarray(array).astype(dtype).tobytes())


def _one_line_naming(err, path):
    message = str(err.value)
    assert "\n" not in message, message
    assert str(path) in message, message
    return message


def test_truncated_gzip_idx_is_a_one_line_error_naming_the_file(tmp_path):
    _fake_mnist_dir(tmp_path)
    path = tmp_path / data._IDX_FILES["train"][0]
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])  # a download cut short
    with pytest.raises(data.DataError) as err:
        data.read_idx(path)
    assert "truncated" in _one_line_naming(err, path)
    with pytest.raises(data.DataError) as err:
        data.load_arrays("mnist", "train", data_dir=str(tmp_path))
    _one_line_naming(err, path)


def test_corrupt_gzip_idx_is_a_one_line_error_naming_the_file(tmp_path):
    _fake_mnist_dir(tmp_path)
    path = tmp_path / data._IDX_FILES["train"][0]
    raw = bytearray(path.read_bytes())
    for i in range(20, len(raw) - 20, 7):  # damage the deflate stream
        raw[i] ^= 0x5A
    path.write_bytes(bytes(raw))
    with pytest.raises(data.DataError) as err:
        data.load_arrays("mnist", "train", data_dir=str(tmp_path))
    _one_line_naming(err, path)
    not_gzip = tmp_path / "not-gzip.gz"
    not_gzip.write_bytes(b"<html>404</html>")
    with pytest.raises(data.DataError) as err:
        data.read_idx(not_gzip)
    _one_line_naming(err, not_gzip)


def test_idx_header_shorter_than_its_dimensions_is_named(tmp_path):
    path = tmp_path / "header.gz"
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">BBBBI", 0, 0, 8, 3, 10))  # says 3 dimensions, gives 1
    with pytest.raises(data.DataError, match="header") as err:
        data.read_idx(path)
    _one_line_naming(err, path)
    extra = tmp_path / "extra.gz"
    with gzip.open(extra, "wb") as f:
        f.write(struct.pack(">BBBBI", 0, 0, 8, 1, 2) + b"\x01\x02\x03")  # one value too many
    with pytest.raises(data.DataError) as err:
        data.read_idx(extra)
    _one_line_naming(err, extra)


def test_image_and_label_counts_are_compared(tmp_path):
    _fake_mnist_dir(tmp_path)
    labels_path = tmp_path / data._IDX_FILES["train"][1]
    _write_idx(labels_path, np.zeros(11, np.uint8))  # 12 images, 11 labels
    with pytest.raises(data.DataError, match="12 images.*11 labels") as err:
        data.load_arrays("mnist", "train", data_dir=str(tmp_path))
    _one_line_naming(err, labels_path)


def test_idx_of_other_element_types_loads_exactly_or_is_refused(tmp_path):
    arrays = _fake_mnist_dir(tmp_path)
    images, labels = arrays["train"]
    img_path, lbl_path = (tmp_path / f for f in data._IDX_FILES["train"])
    # int32 / float64 holding whole pixel values and class ids: the same data, exactly.
    _write_raw_idx(img_path, images.astype(np.int32), 0x0C)
    _write_raw_idx(lbl_path, labels.astype(np.float64), 0x0E)
    x, y = data.load_arrays("mnist", "train", data_dir=str(tmp_path))
    assert x.dtype == np.uint8 and y.dtype == np.int32
    np.testing.assert_array_equal(x[..., 0], images)
    np.testing.assert_array_equal(y, labels)
    # Values that uint8 pixels / class ids cannot hold are refused, not wrapped or truncated.
    for bad_images, code, what in (
        (images.astype(np.int32) + 200, 0x0C, "int32"),  # 455 would wrap to 199
        (images / 255.0, 0x0E, "float64"),  # [0, 1] floats would become 0
    ):
        _write_raw_idx(img_path, bad_images, code)
        with pytest.raises(data.DataError, match=what) as err:
            data.load_arrays("mnist", "train", data_dir=str(tmp_path))
        _one_line_naming(err, img_path)
    _write_idx(img_path, images)
    for bad_labels in (labels + 0.5, np.full(labels.shape, 10.0), np.full(labels.shape, -1.0)):
        _write_raw_idx(lbl_path, bad_labels.astype(np.float64), 0x0E)
        with pytest.raises(data.DataError) as err:
            data.load_arrays("mnist", "train", data_dir=str(tmp_path))
        _one_line_naming(err, lbl_path)


def test_explicit_data_dir_is_used_or_refused_never_replaced(tmp_path, monkeypatch):
    """A data_dir without the IDX files must not silently fall back to another copy (Debian's)."""
    debian = tmp_path / "debian"
    debian.mkdir()
    _fake_mnist_dir(debian)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", str(debian))
    x, _ = data.load_arrays("fashion_mnist", "test")  # no data_dir: Debian's copy is fine
    assert len(x) == 4
    empty = tmp_path / "typo"
    empty.mkdir()
    with pytest.raises(data.DataNotFoundError) as err:
        data.load_arrays("fashion_mnist", "test", data_dir=str(empty))
    assert str(empty) in str(err.value)
    missing = tmp_path / "does-not-exist"
    with pytest.raises(data.DataNotFoundError) as err:
        data.load_arrays("fashion_mnist", "test", data_dir=str(missing))
    assert str(missing) in str(err.value)
    # Half a set: the missing file is named.
    partial = tmp_path / "partial"
    partial.mkdir()
    _fake_mnist_dir(partial)
    (partial / data._IDX_FILES["test"][1]).unlink()
    with pytest.raises(data.DataNotFoundError, match=data._IDX_FILES["test"][1]):
        data.load_arrays("fashion_mnist", "test", data_dir=str(partial))


def test_training_program_stops_with_one_line_naming_the_bad_file(tmp_path):
    """Through the CLI: a truncated IDX file stops training before it starts, with one FATAL line
    naming the file (no traceback)."""
    import subprocess
    import sys

    from conftest import REPO

    data_dir = tmp_path / "mnist"
    data_dir.mkdir()
    _fake_mnist_dir(data_dir, n_train=200)
    path = data_dir / data._IDX_FILES["train"][0]
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    result = subprocess.run(
        [sys.executable, "-m", "tfgan_orig.train", "--config=configs/mnist_mlp.py",
         f"--workdir={tmp_path / 'run'}", f"--config.data.data_dir={data_dir}",
         "--config.train.epochs=1"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("FATAL") and str(path) in last and "truncated" in last, last


def test_pipeline_states_its_length_so_fit_knows_its_steps():
    # flat_map over epochs hides the length; without it a one-epoch `fit` warns that its input
    # "ran out of data" and cannot show progress.
    points = np.zeros((1050, 2), np.float32)
    assert int(data.training_dataset(points, 100, 10, seed=0, start_epoch=2, end_epoch=5).cardinality()) == 30
    assert int(data.make_dataset("ring8", batch_size=100, limit=1050).cardinality()) == 10
    infinite = data.make_dataset("ring8", batch_size=100, limit=1050, repeat=True).cardinality()
    assert int(infinite) == int(tf.data.INFINITE_CARDINALITY)
    assert sum(1 for _ in data.training_dataset(points, 100, 10, seed=0, start_epoch=2, end_epoch=5)) == 30
