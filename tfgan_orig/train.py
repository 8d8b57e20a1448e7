"""`python -m tfgan_orig.train` (and `tfgan-train`): the program is `tfgan_orig.cli.train`."""

from tfgan_orig.cli.train import main, parse_flags, run

__all__ = ["main", "parse_flags", "run"]

if __name__ == "__main__":
    run()
