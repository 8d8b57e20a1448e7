"""Unrolled GAN (Metz et al. 2017) on PacGAN's ring of 8 Gaussians (docs/references.md §3).

Run:
    python -m tfgan_orig.train --config=configs/ring8_unrolled.py --workdir=runs/ring8_unrolled

PacGAN's setup (ring8.py: G 4 x 400 ReLU + BN, D 3 maxout 200 x 5, Adam 1e-4 / 0.8, batch 100) with
G's loss computed against D after 5 differentiable gradient-descent steps of size 1e-3 on D's loss
(plain SGD unrolling; Metz unrolled Adam). The step size matters: measured here (1,500 steps),
0.1 and 0.01 let the unrolled D overfit the step's own samples and G diverged (0 and 2 modes of 8);
1e-3 kept all 8 modes. Each G step costs ~3-5x a plain one (measured 200-360 ms vs 63-98 ms per
step on 2 shared CPU cores). Compare the mode count with ring8.py's
(`python -m tfgan_orig.evaluate --workdir=... --metrics=modes`, PacGAN's metric).
"""

from tfgan_orig import config as config_lib


def get_config():
    config = config_lib.pacgan_mixture_config("ring8")
    config.train.unrolled_steps = 5
    # Measured with Keras' defaults (Glorot-uniform init, batch-norm momentum 0.99), not PacGAN's.
    config.model.mlp_init_stddev = 0.0
    config.model.g_batch_norm_momentum = 0.99
    config.train.unrolled_learning_rate = 1e-3
    config.train.epochs = 100
    return config
