"""tfgan_orig: the adversarial nets of Goodfellow et al. (2014) and their family, for Keras 3."""

from tfgan_orig import data, distribute, layers, losses, networks, schedules
from tfgan_orig.gan import GAN

__version__ = "0.1.0"

__all__ = ["GAN", "data", "distribute", "layers", "losses", "networks", "schedules", "__version__"]
