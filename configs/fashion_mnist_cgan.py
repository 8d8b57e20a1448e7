"""Class-conditional DCGAN on Fashion-MNIST (Mirza & Osindero 2014; projection D, Miyato & Koyama 2018).

Run:
    python -m tfgan_orig.train --config=configs/fashion_mnist_cgan.py --workdir=runs/fm_cgan

The DCGAN of fashion_mnist_dcgan.py with labels: G gets [z, label] (a learned 50-d label embedding
concatenated to z), D gets [image, label] (logit = psi(phi(x)) + <embed(label), phi(x)>). The
dataset yields (image, label); sample pictures cycle the classes (row i, column j: class (8i+j) % 10).
`gan.generate(num, seed, labels=[...])` picks classes. One-sided label smoothing 0.9 (tutorial).
AC-GAN instead: --config.model.aux_classifier=True (D sees only the image and predicts the class).
"""

from tfgan_orig import config as config_lib


def get_config():
    config = config_lib.dcgan_config("fashion_mnist")
    config.model.conditional = True
    config.loss.label_smoothing = 0.1
    return config
