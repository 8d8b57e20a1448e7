"""Exports the generator of a training workdir's newest checkpoint as a TF Serving SavedModel.

    python -m tfgan_orig.export --workdir=runs/mnist [--export_dir=DIR] [--version=N] [--max_num=1024]

Prints the new version's path. The library is `tfgan_orig.export` (`export_from_workdir`,
`export_generator`).
"""

import sys

from absl import flags

from tfgan_orig import cli
from tfgan_orig import export

FLAGS = flags.FLAGS


def define_flags():
    """Defines the export flags (called by `run`, never at import)."""
    flags.DEFINE_string("workdir", None, "Training workdir whose latest checkpoint is exported.")
    flags.DEFINE_string(
        "export_dir", None, "Model base directory (default: <workdir>/export/generator)."
    )
    flags.DEFINE_integer("version", None, "Version number (default: next free version).")
    flags.DEFINE_list(
        "output_range",
        None,
        "lo,hi of the generator's output (default: inferred from its final activation).",
    )
    flags.DEFINE_integer("max_num", export.DEFAULT_MAX_NUM, "Largest `num` of the generate signature.")
    flags.DEFINE_bool("use_ema", False, "Export the EMA generator.")
    flags.DEFINE_bool(
        "warmup", True, "Write TF Serving warmup requests (default: if tensorflow-serving-api "
        "is installed; --warmup requires it)."
    )
    flags.DEFINE_string("model_name", "generator", "Model name used in the warmup requests.")
    flags.mark_flag_as_required("workdir")


def main(argv):
    """Exports the generator of `--workdir`'s latest checkpoint and prints the version path."""
    del argv
    output_range = None
    if FLAGS.output_range:
        output_range = tuple(float(v) for v in FLAGS.output_range)
    try:
        path = export.export_from_workdir(
            FLAGS.workdir,
            FLAGS.export_dir,
            version=FLAGS.version,
            output_range=output_range,
            max_num=FLAGS.max_num,
            # Not given: write warmup requests if tensorflow-serving-api is installed.
            warmup=None if FLAGS["warmup"].using_default_value else FLAGS.warmup,
            use_ema=FLAGS.use_ema,
            model_name=FLAGS.model_name,
        )
    except (FileNotFoundError, FileExistsError, ValueError) as e:
        # A user mistake (no checkpoint, taken version, bad flag): one clear line, no traceback.
        sys.exit(f"error: {e}")
    print(path)


def run():
    """Entry point of `python -m tfgan_orig.export`."""
    cli.run_program(__name__, define_flags, main)


if __name__ == "__main__":
    run()
