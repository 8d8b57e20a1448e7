"""`python -m tfgan_orig.train` (and `tfgan-train`): the program is `tfgan_orig.cli.train`."""

from tfgan_orig.cli import train as _program
from tfgan_orig.cli.train import main, parse_flags, run

__doc__ = _program.__doc__  # `--help` shows the program's usage
__all__ = ["main", "parse_flags", "run"]

if __name__ == "__main__":
    run()
