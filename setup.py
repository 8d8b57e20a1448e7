"""Install: `pip install -e .[cpu]` (CPU TensorFlow wheel) or `pip install -e .[gpu]`."""

from setuptools import find_packages, setup

setup(
    name="tfgan_orig",
    version="0.1.0",
    description="Generative Adversarial Nets (Goodfellow et al. 2014) and their family for Keras 3.",
    packages=find_packages(include=["tfgan_orig", "tfgan_orig.*"]),
    python_requires=">=3.10",
    install_requires=[
        "keras>=3.15,<4",
        "tensorflow-datasets==4.9.10",
        # tfds 4.9.10 imports it without declaring it.
        "importlib_resources",
        "tensorboard>=2.21,<2.22",
        "absl-py",
        "ml_collections",
        "numpy",
        "pillow",
        # 2-D sample scatter plots during training and the Figure 1 command (Agg backend).
        "matplotlib",
    ],
    extras_require={
        # Exactly one TensorFlow wheel: the CPU build installs from local disk in seconds here.
        "cpu": ["tensorflow-cpu==2.21.0"],
        "gpu": ["tensorflow[and-cuda]==2.21.0"],
        "test": ["pytest", "hypothesis", "scipy"],
    },
    entry_points={"console_scripts": ["tfgan-train=tfgan_orig.train:run"]},
)
