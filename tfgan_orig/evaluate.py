"""`python -m tfgan_orig.evaluate`: the program is `tfgan_orig.cli.evaluate`; the library function
is `tfgan_orig.evaluation.evaluate_workdir`."""

from tfgan_orig.cli import evaluate as _program
from tfgan_orig.cli.evaluate import main, run
from tfgan_orig.evaluation import evaluate_workdir, format_table

__doc__ = _program.__doc__  # `--help` shows the program's usage
__all__ = ["evaluate_workdir", "format_table", "main", "run"]

if __name__ == "__main__":
    run()
