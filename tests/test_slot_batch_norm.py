"""SlotBatchNormalization: PacGAN's packed generator, which normalizes each packing slot by itself.

PacGAN's code calls its generator once per packing slot, on that slot's own batch of latents. A
generator with `batch_norm_slots = m` called once on the interleaved rows must be that: the same
samples, the same gradients and the same population statistics (their average over the slots).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import mirrored_strategy

from tfgan_orig import builder, ema, networks, train_lib
from tfgan_orig import workdir as workdir_lib
from tfgan_orig.layers import SlotBatchNormalization


def _rows(n, width, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, width)) * [1.0, 2.0, 0.5][:width] + [0.0, 1.0, -2.0][:width]).astype(
        "float32"
    )


def test_each_slot_is_normalized_with_its_own_statistics():
    x = _rows(12, 3)
    layer = SlotBatchNormalization(slots=3, momentum=0.5, epsilon=1e-3, synchronized=False)
    layer.build((None, 3))
    layer.gamma.assign([2.0, 1.0, 0.5])
    layer.beta.assign([0.1, -0.2, 0.3])
    y = np.asarray(layer(x, training=True))
    means, variances = [], []
    for s in range(3):
        xs = x[s::3]  # rows s, s + 3, ...: slot s
        means.append(xs.mean(0))
        variances.append(xs.var(0))
        expected = [2.0, 1.0, 0.5] * (xs - xs.mean(0)) / np.sqrt(xs.var(0) + 1e-3) + [0.1, -0.2, 0.3]
        np.testing.assert_allclose(y[s::3], expected, rtol=1e-5, atol=1e-5)
    # Whole-batch statistics would give another output.
    whole = [2.0, 1.0, 0.5] * (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3) + [0.1, -0.2, 0.3]
    assert np.abs(y - whole).max() > 0.05
    # Population statistics: one update with the slots' average (PacGAN's merged update).
    np.testing.assert_allclose(layer.moving_mean, 0.5 * 0.0 + 0.5 * np.mean(means, 0), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance, 0.5 * 1.0 + 0.5 * np.mean(variances, 0), rtol=1e-5)
    # Inference normalizes with them, like BatchNormalization.
    mm, mv = np.asarray(layer.moving_mean), np.asarray(layer.moving_variance)
    np.testing.assert_allclose(
        layer(x, training=False),
        [2.0, 1.0, 0.5] * (x - mm) / np.sqrt(mv + 1e-3) + [0.1, -0.2, 0.3], rtol=1e-5, atol=1e-5,
    )


def test_one_slot_is_batch_normalization():
    x = _rows(10, 3)
    slot, plain = SlotBatchNormalization(slots=1, momentum=0.9), keras.layers.BatchNormalization(momentum=0.9)
    np.testing.assert_allclose(slot(x, training=True), plain(x, training=True), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(slot.moving_mean, plain.moving_mean, rtol=1e-6)
    np.testing.assert_allclose(slot.moving_variance, plain.moving_variance, rtol=1e-6)


def _generators(slots):
    packed = networks.mlp_generator(
        latent_dim=2, output_dim=2, hidden_units=(8, 8), seed=3, batch_norm_momentum=0.9,
        batch_norm_slots=slots,
    )
    plain = networks.mlp_generator(
        latent_dim=2, output_dim=2, hidden_units=(8, 8), seed=3, batch_norm_momentum=0.9
    )
    plain.set_weights(packed.get_weights())
    return packed, plain


def test_packed_generator_equals_one_call_per_slot():
    """G with m slots on interleaved latents = PacGAN's m calls of G, one per slot: samples,
    gradients and the averaged population statistics."""
    m, per_slot = 4, 6
    packed, plain = _generators(m)
    assert sum(isinstance(x, SlotBatchNormalization) for x in packed.layers) == 2
    z = tf.constant(_rows(m * per_slot, 2, seed=1))
    weights = tf.constant(_rows(m * per_slot, 2, seed=2))

    with tf.GradientTape() as tape:
        out = packed(z, training=True)
        loss = tf.reduce_sum(out * weights)
    grads = tape.gradient(loss, packed.trainable_variables)

    plain_bns = [x for x in plain.layers if isinstance(x, keras.layers.BatchNormalization)]
    start = [(np.asarray(x.moving_mean), np.asarray(x.moving_variance)) for x in plain_bns]
    slot_outs, slot_grads, slot_stats = [], [], []
    for s in range(m):
        with tf.GradientTape() as tape:
            o = plain(z[s::m], training=True)
            loss_s = tf.reduce_sum(o * weights[s::m])
        slot_outs.append(np.asarray(o))
        slot_grads.append(tape.gradient(loss_s, plain.trainable_variables))
        # This call's batch mean and variance, recovered from its moving-average update; then
        # every slot call starts from the same population statistics.
        stats = []
        for x, (mean0, var0) in zip(plain_bns, start):
            stats.append(((np.asarray(x.moving_mean) - 0.9 * mean0) / 0.1,
                          (np.asarray(x.moving_variance) - 0.9 * var0) / 0.1))
            x.moving_mean.assign(mean0)
            x.moving_variance.assign(var0)
        slot_stats.append(stats)

    interleaved = np.stack(slot_outs, axis=1).reshape(m * per_slot, 2)
    np.testing.assert_allclose(out, interleaved, rtol=1e-4, atol=1e-5)
    for g, *gs in zip(grads, *slot_grads):
        np.testing.assert_allclose(g, np.sum(gs, axis=0), rtol=1e-3, atol=1e-5)
    # Population statistics: PacGAN's one update with the slots' average. (For the variance this
    # differs from the whole batch's, which adds the spread of the slot means.)
    bns = [x for x in packed.layers if isinstance(x, SlotBatchNormalization)]
    for i, layer in enumerate(bns):
        mean = np.mean([stats[i][0] for stats in slot_stats], axis=0)
        variance = np.mean([stats[i][1] for stats in slot_stats], axis=0)
        np.testing.assert_allclose(layer.moving_mean, 0.1 * mean, rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(layer.moving_variance, 0.9 + 0.1 * variance, rtol=1e-4, atol=1e-5)


def test_rows_that_do_not_fill_the_slots_are_refused_naming_both():
    layer = SlotBatchNormalization(slots=4, name="bn_0")
    with pytest.raises(ValueError, match=r"bn_0: 6 rows cannot be split into slots=4"):
        layer(_rows(6, 2), training=True)
    layer(_rows(6, 2), training=False)  # inference normalizes each row by itself: any batch
    with pytest.raises(ValueError, match="slots must be an integer >= 1. Received: slots=0"):
        SlotBatchNormalization(slots=0)
    with pytest.raises(ValueError, match="axis=1"):
        SlotBatchNormalization(slots=2, axis=1)


def test_two_replicas_give_the_one_device_slots():
    """Synchronized: each slot's statistics are over the global batch (each replica's share a
    multiple of the slots keeps the row's slot), so 2 replicas compute the one device's G."""
    strategy = mirrored_strategy()
    z = _rows(16, 2, seed=4)
    one, _ = _generators(2)
    with strategy.scope():
        two, _ = _generators(2)
    two.set_weights(one.get_weights())

    w = _rows(16, 2, seed=7)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(one(z, training=True) * w)
    expected_grads = tape.gradient(loss, one.trainable_variables)
    one.set_weights(two.get_weights())  # back to the starting moving statistics

    expected = np.asarray(one(z, training=True))

    def step(rows, w_rows):
        with tf.GradientTape() as tape:
            out = two(rows, training=True)
            loss = tf.reduce_sum(out * w_rows)
        return out, tape.gradient(loss, two.trainable_variables)

    dist = strategy.experimental_distribute_values_from_function(
        lambda ctx: (tf.constant(z[8 * ctx.replica_id_in_sync_group:][:8]),
                     tf.constant(w[8 * ctx.replica_id_in_sync_group:][:8]))
    )
    out, grads = strategy.run(step, args=dist)
    np.testing.assert_allclose(np.concatenate([v.numpy() for v in out.values]), expected, rtol=1e-4, atol=1e-5)
    # The statistics' all-reduce carries the gradient across replicas: the sum of the replicas'
    # gradients is the one device's.
    for g, e in zip(grads, expected_grads):
        total = strategy.reduce(tf.distribute.ReduceOp.SUM, g, axis=None)
        np.testing.assert_allclose(total.numpy(), e.numpy(), rtol=1e-3, atol=1e-5)
    for a, b in zip(one.non_trainable_weights, two.non_trainable_weights):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-6)


def test_keras_file_round_trip_keeps_the_slots(tmp_path):
    packed, _ = _generators(2)
    packed(_rows(8, 2), training=True)
    path = str(tmp_path / "g.keras")
    packed.save(path)
    loaded = keras.saving.load_model(path)
    assert [x.slots for x in loaded.layers if isinstance(x, SlotBatchNormalization)] == [2, 2]
    z = _rows(8, 2, seed=5)
    np.testing.assert_allclose(loaded(z, training=False), packed(z, training=False), rtol=1e-6)
    np.testing.assert_allclose(loaded(z, training=True), packed(z, training=True), rtol=1e-5, atol=1e-6)


def test_standing_statistics_pass_whole_slots():
    """Standing statistics of a slotted G: passes of whole slots, each layer storing its slots'
    average; the rows past the last multiple of the slots are left out."""
    z = _rows(1003, 2, seed=6)
    packed, plain = _generators(4)
    ema.standing_statistics(packed, z, batch_size=250)  # passes of 248, ..., all multiples of 4
    # Reference: the first layer's input is linear in z, so its mean is the mean over the
    # 1,000 rows used, whatever the passes.
    first = [x for x in packed.layers if isinstance(x, SlotBatchNormalization)][0]
    hidden = packed.get_layer("hidden_0")(z[:1000])
    np.testing.assert_allclose(first.moving_mean, np.mean(hidden, axis=0), rtol=1e-4, atol=1e-5)
    assert first.momentum == 0.9 and first.trainable  # restored
    with pytest.raises(ValueError, match="at least 4 rows"):
        ema.standing_statistics(packed, z[:3])


def test_packed_gan_trains_with_per_slot_generator_statistics(tmp_path):
    """A PacGAN2 run with per-slot statistics through the training program: the config reaches
    G's layers, training is finite, and resuming under another slot count is refused (another
    run: the field is part of the run fingerprint)."""
    from conftest import tiny_ring8_config

    config = tiny_ring8_config(epochs=1)
    config.model.pack = 2
    config.model.g_batch_norm_slots = 2
    gan = builder.build_gan(config, num_steps_per_epoch=1)
    bns = [x for x in gan.generator.layers if isinstance(x, keras.layers.BatchNormalization)]
    assert len(bns) == 2 and all(isinstance(x, SlotBatchNormalization) and x.slots == 2 for x in bns)

    workdir = str(tmp_path / "run")
    result = train_lib.train_and_evaluate(config, workdir)
    history = result["history"]
    assert np.isfinite(history["d_loss"][-1]) and np.isfinite(history["g_loss"][-1])
    config.model.g_batch_norm_slots = 1
    config.train.epochs = 2
    with pytest.raises(workdir_lib.FingerprintMismatch, match="g_batch_norm_slots"):
        train_lib.train_and_evaluate(config, workdir)


def test_fit_refuses_batches_that_do_not_fill_the_slots_before_training():
    from conftest import tiny_ring8_config

    config = tiny_ring8_config()
    config.model.g_batch_norm_slots = 4
    gan = builder.build_gan(config, num_steps_per_epoch=1)
    before = [w.copy() for w in gan.generator.get_weights()]
    x = _rows(18, 2)
    with pytest.raises(ValueError, match=r"slots=4\) cannot split batches of \[2\] examples"):
        gan.fit(x, batch_size=8, epochs=1, verbose=0)  # a last batch of 2 rows
    with pytest.raises(ValueError, match="multiple of d_steps \\* slots \\* replicas = 1 \\* 4 \\* 1"):
        gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(6, drop_remainder=True), epochs=1, verbose=0)
    for a, b in zip(before, gan.generator.get_weights()):
        np.testing.assert_array_equal(a, b)  # refused before any step
    history = gan.fit(x[:16], batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][-1])


def test_frozen_layer_and_masks_and_low_precision():
    x = _rows(12, 3)
    layer = SlotBatchNormalization(slots=3, momentum=0.5)
    layer.build((None, 3))
    layer.moving_mean.assign([1.0, 2.0, 3.0])
    layer.trainable = False  # Keras: a frozen batch norm runs in inference mode even in training
    np.testing.assert_allclose(layer(x, training=True), layer(x, training=False), rtol=1e-6)
    np.testing.assert_allclose(layer.moving_mean, [1.0, 2.0, 3.0])
    layer.trainable = True
    with pytest.raises(ValueError, match="does not take a mask"):
        layer(x, training=True, mask=np.ones(12, bool))
    # Statistics in float32 under a float16 / bfloat16 layer (as BatchNormalization), variables in
    # the layer's dtype.
    for dtype in ("float16", "bfloat16", "mixed_bfloat16"):
        low = SlotBatchNormalization(slots=3, dtype=dtype)
        y = low(tf.cast(x, "bfloat16" if "bfloat16" in dtype else "float16"), training=True)
        reference = np.concatenate([(x[s::3] - x[s::3].mean(0)) / np.sqrt(x[s::3].var(0) + 1e-3)
                                    for s in range(3)])
        order = np.concatenate([np.arange(s, 12, 3) for s in range(3)])
        np.testing.assert_allclose(np.asarray(tf.cast(y, "float32"))[order], reference, atol=0.05)
