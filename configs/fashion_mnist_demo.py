"""Placeholder; replaced after the demo experiments."""
import os
import runpy

_DEFAULT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "default.py")


def get_config():
    config = runpy.run_path(_DEFAULT)["get_config"]()
    config.data.name = "fashion_mnist"
    config.optimizer.name = "adam"
    config.optimizer.d_learning_rate = 2e-4
    config.optimizer.g_learning_rate = 2e-4
    config.train.epochs = 5
    return config
