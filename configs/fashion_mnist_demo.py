"""The demo (`./demo.sh`): the original GAN, the paper's networks and optimizer, on Fashion-MNIST,
bounded in time.

Run (demo.sh adds `--config.train.time_limit_minutes=7`):
    python -m tfgan_orig.train --config=configs/fashion_mnist_demo.py --workdir=runs/demo

Same as configs/fashion_mnist_mlp.py (G 100-1200-1200-784 sigmoid, D maxout 240x5 x2 with
dropout, the paper's SGD: lr 0.1 decayed per step, momentum 0.5 -> 0.7, batch 100, k = 1, uniform
noise; D's loss with the authors' 1/2, so lr 0.1 takes their D and G steps), plus XLA compilation of the train step (single device; ~20-30% faster on an idle CPU, docs/performance.md).
An "epoch" here is capped at 200 steps (a third of Fashion-MNIST, a fresh shuffle each time) so that
pictures, checkpoints and the time limit's epoch-end checks come every ~10 s on an idle machine
(a minute or two on a loaded one) instead of after a full pass; 60 of them = 20 passes. (The paper
SGD's momentum ramp, counted in epochs, therefore runs 3x faster in steps: momentum 0.5 -> ~0.55
over the 60 short epochs instead of ~0.516 over 20 full ones; immaterial here.)

How long, and how it looks (measured on this project's 2-core machines, see docs/training.md):
garments (shirts, trousers, pullovers, dresses) are recognizable after 2-3 full passes (6-9 of these
short epochs), clearer after 7-10 passes; with `time_limit_minutes=7` an idle machine makes ~15-20
passes, a machine as loaded as this project's (load average 20+ on 2 cores) only 1-2.
Why the paper's SGD and not Adam: tried side by side here, Adam (lr 2e-4 or 5e-4, beta1 0.5) with
the same networks gave no better samples per step (more isolated-pixel noise), so the demo stays
with the authors' optimizer.
"""

from tfgan_orig import config as config_lib


def get_config():
    config = config_lib.default_config()
    config.data.name = "fashion_mnist"
    config.data.limit = 0
    config.train.epochs = 60
    config.train.steps_per_epoch = 200
    config.train.jit_compile = True
    config.train.log_every_steps = 50
    return config
