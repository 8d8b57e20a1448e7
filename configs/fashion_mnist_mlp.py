"""The paper's networks and optimizer (configs/mnist_mlp.py) on Fashion-MNIST.

Run:
    python -m tfgan_orig.train --config=configs/fashion_mnist_mlp.py --workdir=runs/fmnist_mlp

Data: Debian's `dataset-fashion-mnist` package (/usr/share/datasets/fashion-mnist, found
automatically), or tfds online. All 60,000 training images (600 steps of 100 per epoch).
Time here (2 CPU cores shared with other jobs): see docs/training.md for the measured seconds per
epoch; 300 epochs take hours. The paper's SGD (lr 0.1, tiny init) needs many epochs before samples
look like garments; configs/fashion_mnist_demo.py is the shorter run used by demo.sh (same networks and optimizer).
Step sizes as the authors' (configs/mnist_mlp.py): D's loss carries their 1/2, both lr 0.1.
"""

from tfgan_orig import config as config_lib


def get_config():
    config = config_lib.default_config()
    config.data.name = "fashion_mnist"
    config.data.limit = 0
    config.train.epochs = 300
    return config
