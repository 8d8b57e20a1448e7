r"""Trains a GAN from a config file: the thin command-line shell around `train_lib`.

    python -m tfgan_orig.train --config=configs/fashion_mnist_mlp.py --workdir=runs/fmnist \
        --config.train.epochs=3 --config.optimizer.d_learning_rate=0.05

(`tfgan-train` is the same program as a console script.) Any config field can be overridden with
`--config.<path>=<value>`; an unknown field or a value of the wrong type stops the program at once
with a message naming it. Re-running the same command on the same workdir resumes training.
"""

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from tfgan_orig import cli
from tfgan_orig import config as config_lib
from tfgan_orig import data as data_lib
from tfgan_orig import callbacks, distribute, divergence, train_lib
from tfgan_orig import workdir as workdir_lib

FLAGS = flags.FLAGS


def define_flags():
    """Defines `--config`, `--workdir`, `--strategy` (called by `run`, never at import)."""
    config_flags.DEFINE_config_file(
        "config", None, "Training config file (a Python file with get_config()).", lock_config=True
    )
    flags.DEFINE_string("workdir", None, "Output directory; re-running on it resumes training.")
    flags.DEFINE_enum(
        "strategy",
        "default",
        list(distribute.STRATEGIES),
        "tf.distribute strategy: default (one device), mirrored (all local GPUs), multi_worker "
        "(cluster from TF_CONFIG), tpu.",
    )
    flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.debug("Config:\n%s", FLAGS.config)  # also saved as WORKDIR/config.json
    try:  # ml_collections defers a config file's load error (missing file, bad Python) to first use
        FLAGS.config.keys()
    except OSError as e:
        sys.exit(f"FATAL Cannot load the --config file: {e}")
    try:
        result = train_lib.train_and_evaluate(FLAGS.config, FLAGS.workdir, strategy=FLAGS.strategy)
    except config_lib.ConfigError as e:  # a clear message, not a traceback
        sys.exit(f"FATAL {e}")
    except divergence.TrainingDiverged as e:  # NaN/Inf loss: last good checkpoint kept
        sys.exit(f"FATAL {e}")
    except (data_lib.DataError, data_lib.DataNotFoundError) as e:  # names the file or directory
        sys.exit(f"FATAL {e}")
    except workdir_lib.WorkdirError as e:  # in use, another run's checkpoints, a bad index
        sys.exit(f"FATAL {e}")
    except callbacks.TrainingInterrupted as e:  # SIGTERM/SIGINT: the step's checkpoint is written
        print(str(e), file=sys.stderr, flush=True)
        sys.exit(e.exit_code)  # 143 (SIGTERM) or 130 (SIGINT), as if killed by the signal
    lines = [
        "",
        f"Done: {result['stopped_at_epoch'] or result['epochs']} of {result['epochs']} epochs "
        f"in {result['workdir']}",
        f"  samples (PNG grid):  {result['sample_png']}",
        f"  TensorBoard logs:    {result['tensorboard']}",
        f"      view with:       tensorboard --logdir {result['tensorboard']}",
        f"  checkpoint:          {result['checkpoint']}",
        f"  exported generator:  {result['export']}",
    ]
    print("\n".join(lines), flush=True)


def parse_flags(argv):
    """absl's flag parsing, with config-override mistakes reported in one line, not a traceback.

    ml_collections raises `AttributeError` for an unknown field (with a "Did you mean" hint) and
    flags errors for values of the wrong type.
    """
    try:
        return FLAGS(argv)
    except flags.Error as e:
        sys.exit(f"FATAL Flags parsing error: {e}\nPass --helpshort or --helpfull for help.")
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        message = str(e).replace("\\n", " ").replace("\n", " ").replace("\\", "")
        if len(message) > 1 and message[0] == message[-1] == "'":
            message = message[1:-1]
        sys.exit(f"FATAL Unknown config field or bad value: {message}")


def run():
    """Entry point of `python -m tfgan_orig.train` and the `tfgan-train` console script."""
    cli.run_program(__name__, define_flags, main, argv=sys.argv, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
