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

import os
import runpy

_DEFAULT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "default.py")


def get_config():
    config = runpy.run_path(_DEFAULT)["get_config"]()
    config.data.name = "ring8"
    config.model.generator = "mlp"
    config.model.discriminator = "maxout"
    config.model.latent_dim = 2
    config.model.noise = "normal"
    config.model.g_hidden_units = (400, 400, 400, 400)
    config.model.g_batch_norm = True
    config.model.d_units = 200
    config.model.d_pieces = 5
    config.model.d_layers = 3
    config.optimizer.name = "adam"
    config.optimizer.d_learning_rate = 1e-4
    config.optimizer.g_learning_rate = 1e-4
    config.optimizer.beta_1 = 0.8
    config.train.batch_size = 100
    config.train.epochs = 400
    config.train.num_samples = 2500  # PacGAN's metric sample size; plotted each epoch
    config.eval.metrics = "modes"  # PacGAN's mode coverage on 2,500 samples, every epoch
    return config
