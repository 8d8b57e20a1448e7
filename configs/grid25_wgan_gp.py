"""WGAN-GP (Gulrajani et al. 2017) on PacGAN's 5x5 grid of Gaussians (docs/references.md §3).

Run:
    python -m tfgan_orig.train --config=configs/grid25_wgan_gp.py --workdir=runs/grid25_wgan_gp

PacGAN's networks (grid25.py; the maxout critic has no batch norm, as the penalty needs) with the
Wasserstein loss, gradient penalty lambda = 10 (alpha ~ U(0, 1) per example, epsilon inside the
norm), 5 critic steps per generator step and Adam(1e-4, beta1 0.5, beta2 0.9) as in the WGAN-GP
paper. Each step consumes 5 x 100 examples (d_steps minibatches).
Plain WGAN instead: --config.loss.gradient_penalty_weight=0 --config.loss.clip_value=0.01
--config.optimizer.name=rmsprop --config.optimizer.d_learning_rate=5e-5
--config.optimizer.g_learning_rate=5e-5.
"""

from tfgan_orig import config as config_lib


def get_config():
    config = config_lib.pacgan_mixture_config("grid25")
    config.loss.name = "wasserstein"
    # Measured with Keras' defaults (Glorot-uniform init, batch-norm momentum 0.99), not PacGAN's.
    config.model.mlp_init_stddev = 0.0
    config.model.g_batch_norm_momentum = 0.99
    config.loss.gradient_penalty_weight = 10.0
    config.loss.clip_value = 0.0
    config.train.d_steps = 5
    config.optimizer.beta_1 = 0.5
    config.optimizer.beta_2 = 0.9
    config.train.epochs = 100
    return config
