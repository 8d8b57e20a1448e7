"""PacGAN2 (Lin et al. 2018, Table 1) on ring8 (8 Gaussians on the unit circle, std 0.01).

Run:
    python -m tfgan_orig.train --config=configs/ring8_pacgan2.py --workdir=runs/ring8_pacgan2

PacGAN's setup (configs/ring8.py: its G, D, Adam 1e-4 / beta1 0.8) with packing m = 2: D judges 2
points at once (its input is their concatenation, width 4), for real and generated rows alike.
As in PacGAN's code, a step has 100 packed rows, i.e. 200 points of each kind (G runs on 200
latents), so `train.batch_size` = 200 and an epoch of 100,000 points is 500 steps: PacGAN's
400 epochs of 1,000 steps are 800 epochs here (scripts/mixtures.py counts budgets in PacGAN's
epochs). G's batch norm takes its statistics per slot of 100 rows, as PacGAN's G is called once
per slot (`model.g_batch_norm_slots` = 2). XLA and 50 steps per execution: the same maths, about
twice as fast on CPU (docs/mixtures.md).
"""

from tfgan_orig import config as config_lib


def get_config():
    return config_lib.pacgan_mixture_config("ring8", pack=2)
