"""PacGAN's 2-D mixture experiment (Lin et al. 2018; docs/references.md §3): ring8 (8 Gaussians on the unit circle, std 0.01).

Run:
    python -m tfgan_orig.train --config=configs/ring8.py --workdir=runs/ring8

Setup as in PacGAN: 100,000 training points; z 2-d N(0, I); G 4 x 400 ReLU + batch norm -> linear 2;
D 3 maxout layers 200 x 5 -> logit; Adam lr 1e-4, beta1 0.8; batch 100; 400 epochs (1,000 steps
each). Samples appear as scatter plots over the modes in WORKDIR/samples and TensorBoard.
Difference: the GAN loss is the non-saturating one (PacGAN's GAN baseline code uses it too).
Time here (2 CPU cores shared with other jobs): see docs/training.md for the measured seconds per
epoch; all 400 epochs take hours; `--config.train.epochs=20` gives a first picture in minutes.
"""

from tfgan_orig import config as config_lib


def get_config():
    return config_lib.pacgan_mixture_config("ring8")
