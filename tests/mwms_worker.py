"""One worker of a 2-process MultiWorkerMirroredStrategy run (started by test_distributed.py).

    TF_CONFIG=... python tests/mwms_worker.py --mode=gan --out=weights_<i>.npz

Modes:
  gan:   tfgan_orig.GAN trained by plain `model.fit` under the strategy; saves final weights.
         `--top_k=NU` adds top-k training and trains on 127 points in batches of 24, so the last
         batch (7 points) cannot be split evenly between the two workers.
  keras: a plain compiled Sequential model, to show the upstream Keras failure this package avoids.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def tiny_nets():
    init = lambda i: keras.initializers.GlorotUniform(i)  # noqa: E731
    g = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu", kernel_initializer=init(1)), keras.layers.Dense(3, kernel_initializer=init(2))]
    )
    d = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, activation="relu", kernel_initializer=init(3)), keras.layers.Dense(1, kernel_initializer=init(4))]
    )
    return g, d


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["gan", "keras"], required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--d_steps", type=int, default=2)
    parser.add_argument("--top_k", type=float, default=0.0)
    args = parser.parse_args()

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    x = np.random.default_rng(0).normal(size=(128, 3)).astype(np.float32)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA

    if args.mode == "keras":
        with strategy.scope():
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile("sgd", "mse")
        ds = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(16, drop_remainder=True)
        model.fit(ds.with_options(options), epochs=1, verbose=0)
        np.savez(args.out, *[w.numpy() for w in model.weights])
        return

    import tfgan_orig

    with strategy.scope():
        g, d = tiny_nets()
        gan = tfgan_orig.GAN(g, d, latent_dim=4, d_steps=args.d_steps, seed=3)
        regs = [tfgan_orig.regularizers.TopK(args.top_k, 0.5)] if args.top_k else []
        gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), regularizers=regs)
    if args.top_k:
        ds = tf.data.Dataset.from_tensor_slices(x[:127]).batch(24)
    else:
        ds = tf.data.Dataset.from_tensor_slices(x).batch(16 * args.d_steps, drop_remainder=True)
    history = gan.fit(ds.with_options(options), epochs=2, verbose=0).history
    np.savez(
        args.out,
        *[w.numpy() for w in gan.generator.weights + gan.discriminator.weights],
        d_iterations=int(gan.d_optimizer.iterations.numpy()),
        g_iterations=int(gan.g_optimizer.iterations.numpy()),
        d_loss=np.array(history["d_loss"]),
    )
    print("replicas", strategy.num_replicas_in_sync, file=sys.stderr)


if __name__ == "__main__":
    main()
