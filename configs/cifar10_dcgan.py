"""DCGAN on CIFAR-10 (32x32x3; Radford et al. 2015), with the generator EMA.

Run (needs the dataset: online through tfds, or a prepared tfds data_dir):
    python -m tfgan_orig.train --config=configs/cifar10_dcgan.py --workdir=runs/cifar10_dcgan

G: z 100-d -> 4x4x256 -> 8x8x128 -> 16x16x64 -> 32x32x3 tanh; D mirrors it (64, 128, 256);
Adam 2e-4 / 0.5, batch 128, non-saturating loss. The exported generator is the EMA one
(decay 0.999). Offline, tfds cannot download CIFAR-10 and the run stops within seconds with
DataNotFoundError naming the options.
"""

from tfgan_orig import config as config_lib


def get_config():
    config = config_lib.dcgan_config("cifar10")
    config.model.ema_decay = 0.999
    config.train.epochs = 30
    return config
