"""The paper's MNIST experiment (Goodfellow et al. 2014; docs/references.md §1), as faithfully as
Keras allows.

Run:
    python -m tfgan_orig.train --config=configs/mnist_mlp.py --workdir=runs/mnist_mlp

MNIST must be available: online, tfds downloads it; offline, pass a folder with the four official
IDX .gz files as `--config.data.data_dir=DIR` (no Debian package ships MNIST).
Time here (2 shared CPU cores): one epoch (500 steps of 100) takes about as long as an epoch of
configs/fashion_mnist_mlp.py, about 40-60 s on a loaded machine (see docs/training.md); the paper's
momentum ramp alone spans 250 epochs (~3-4 hours).

What matches the authors' `mnist.yaml`:
- G: 100-d noise uniform on [-sqrt 3, sqrt 3] -> ReLU 1200 -> ReLU 1200 -> sigmoid 784, weights
  U(-0.05, 0.05), output bias = logit of the training set's mean pixel;
- D: maxout 240 x 5 -> maxout 240 x 5 -> sigmoid 1 (a logit here), weights U(-0.005, 0.005),
  dropout keeping 0.8 of the inputs and 0.5 of the hidden units, the same dropped-out D in G's loss;
- SGD with momentum, batch 100, lr 0.1 divided by 1.000004 after every batch (floor 1e-6), momentum
  0.5 rising linearly to 0.7 between epochs 1 and 250; k = 1 D step per G step;
- the step sizes: D descends the authors' `d_obj = 0.5 (CE(1, D(x)) + CE(0, D(G(z))))` (the 1/2 is
  in `losses.minimax_discriminator_loss`) and G their `g_obj = CE(1, D(G(z)))`, both at lr 0.1, so
  every D and G update is the authors' (tests/test_correctness.py checks one step by hand);
- training data: the first 50,000 MNIST training images (the rest is the authors' validation set).

Differences (Keras/this package vs pylearn2):
- G's loss is the non-saturating -log D(G(z)) that the paper recommends "in practice"; pass
  `--config.loss.name=minimax` for the literal log(1 - D(G(z))).
- Each G step draws fresh noise instead of reusing the D step's noise; dropout masks come from a
  stateless per-replica RNG, so random streams differ from Theano's.
- Losses are computed from logits with softplus (the same values, numerically stable).
- The momentum ramp is counted in steps (epoch * steps per epoch), pylearn2 counted epochs: same
  schedule at epoch boundaries, linear in between.
- The number of epochs is not stated by the paper; 300 here (past the end of the momentum ramp).
"""

from tfgan_orig import config as config_lib


def get_config():
    config = config_lib.default_config()
    config.data.name = "mnist"
    config.data.limit = 50000
    config.train.epochs = 300
    return config
