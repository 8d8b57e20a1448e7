"""DCGAN (Radford et al. 2015; docs/references.md §4) on Fashion-MNIST, and the base of the family configs.

Run:
    python -m tfgan_orig.train --config=configs/fashion_mnist_dcgan.py --workdir=runs/fm_dcgan

Setup as in DCGAN: G projects z (100-d N(0, I)) to 7x7x128 and up-samples with stride-2 transposed
convolutions (batch norm, ReLU, tanh output in [-1, 1]); D uses stride-2 convolutions (LeakyReLU 0.2,
batch norm except on the input layer); weights ~ N(0, 0.02); Adam lr 2e-4, beta1 0.5; batch 128;
non-saturating loss. Images are scaled to [-1, 1] (the generator's range).

Every option of the GAN family is a field of `tfgan_orig.config.default_config()`, at its "off"
value, so any of them can be switched on from the command line
(docs/family.md), e.g.
    --config.loss.name=least_squares --config.loss.label_smoothing=0.1
    --config.loss.name=wasserstein --config.loss.gradient_penalty_weight=10 \\
        --config.model.d_normalization=layer --config.train.d_steps=5
    --config.model.spectral_norm=True --config.model.d_normalization=none --config.loss.name=hinge
    --config.train.instance_noise_std=0.1 --config.train.instance_noise_decay_steps=5000
    --config.model.ema_decay=0.999
A first picture in minutes on 2 CPU cores: --config.data.limit=6400 --config.train.epochs=3
--config.model.base_filters=32.
"""

from tfgan_orig import config as config_lib


def get_config():
    return config_lib.dcgan_config("fashion_mnist")
