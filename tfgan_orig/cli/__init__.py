"""The command-line programs: absl flags and `main` only, each over one library function.

    python -m tfgan_orig.train     -> tfgan_orig.cli.train    -> tfgan_orig.train_lib.train_and_evaluate
    python -m tfgan_orig.evaluate  -> tfgan_orig.cli.evaluate -> tfgan_orig.evaluation.evaluate_workdir
    python -m tfgan_orig.export    -> tfgan_orig.cli.export   -> tfgan_orig.export.export_from_workdir
    python -m tfgan_orig.figure1   -> tfgan_orig.cli.figure1  -> tfgan_orig.figure1.run

Flags are defined by each program's `define_flags()`, which its `run()` calls: importing any of
these modules (or all of them in one process) defines no flag, so none can clash.
"""

import sys

from absl import app, flags


def show_flags_in_help(module_name):
    """Lists the flags of program `module_name` under `--helpshort` / `--help`.

    absl shows the key flags of the module that runs as `__main__`; under `python -m tfgan_orig.X`
    that is the shim (or library) module, not the one that defined the flags.
    """
    for flag in flags.FLAGS.get_key_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)


def run_program(module_name, define_flags, main, **app_run_kwargs):
    """Runs a program: defines its flags, lists them under `--helpshort`, then `app.run(main)`."""
    define_flags()
    show_flags_in_help(module_name)
    app.run(main, **app_run_kwargs)
