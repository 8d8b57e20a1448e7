"""Shared base config: the paper's MNIST model (docs/references.md §1); other configs change a few
fields. Not meant to be run by itself (see mnist_mlp.py, fashion_mnist_mlp.py, ring8.py, grid25.py).

Every field can be overridden on the command line, e.g. `--config.train.epochs=3`; an unknown
field or a value of the wrong type is an error. "" / 0 mean "default" / "no cap" where noted.
"""

from tfgan_orig import config as config_lib


def get_config():
    """Every field with its default: `tfgan_orig.config.default_config()` (declared there, once)."""
    return config_lib.default_config()
