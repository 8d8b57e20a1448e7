"""The command-line programs: absl flags and `main` only, each over one library function.

    python -m tfgan_orig.train     -> tfgan_orig.cli.train    -> tfgan_orig.train_lib.train_and_evaluate
    python -m tfgan_orig.evaluate  -> tfgan_orig.cli.evaluate -> tfgan_orig.evaluation.evaluate_workdir
    python -m tfgan_orig.export    -> tfgan_orig.cli.export   -> tfgan_orig.export.export_from_workdir
    python -m tfgan_orig.figure1   -> tfgan_orig.cli.figure1  -> tfgan_orig.figure1.run

Flags are defined by each program's `define_flags()`, which its `run()` calls: importing any of
these modules (or all of them in one process) defines no flag, so none can clash.
"""
