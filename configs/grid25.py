"""PacGAN's 2-D mixture experiment (Lin et al. 2018; docs/references.md §3): grid25 (25 Gaussians
on {-4,-2,0,2,4}^2, std 0.05).

Run:
    python -m tfgan_orig.train --config=configs/grid25.py --workdir=runs/grid25

Exactly ring8.py's setup (PacGAN uses the same networks and optimizer for both mixtures) on the
grid: 100,000 points; z 2-d N(0, I); G 4 x 400 ReLU + batch norm; D 3 maxout 200 x 5; Adam 1e-4,
beta1 0.8; batch 100; 400 epochs of 1,000 steps (hours here; `--config.train.epochs=20` gives a
first picture in minutes); mode coverage logged every epoch.
"""

from tfgan_orig import config as config_lib


def get_config():
    return config_lib.pacgan_mixture_config("grid25")
