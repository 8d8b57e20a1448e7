r"""Soak test: one long training run with its memory (RSS) sampled every minute.

    python scripts/soak.py --minutes=30 --out=soak.json             # ring8, 30 minutes
    python scripts/soak.py --minutes=30 --config=configs/fashion_mnist_mlp.py -- \
        --config.data.limit=6000                                     # extra overrides after --

The training CLI (`python -m tfgan_orig.train`) runs in a child process with
`train.time_limit_minutes=--minutes` and a huge epoch count, so it trains for the whole time with
every per-epoch activity (checkpoint save, sample picture, TensorBoard scalars and image) repeated
many times: a leak in any of them shows as a rising curve. The child's resident memory
(`VmRSS` in /proc/PID/status, Linux) is read every `--interval` seconds, together with the
epochs completed so far (newest checkpoint number).

Output (stdout and `--out`): JSON with the samples `[{"t_s", "rss_mib", "epochs"}]`, the RSS after
the first epoch, the last RSS, their difference, and the least-squares slope (MiB per hour) of
the samples taken after the first epoch. "Flat after the first epoch" means the slope and the
difference are small next to the RSS (a leak of one sample picture or checkpoint per epoch over
hundreds of epochs is not small). Not part of the test suite: it takes `--minutes`.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A small but real ring8 run: every epoch saves a checkpoint, a scatter plot and TensorBoard data.
DEFAULT_OVERRIDES = [
    "--config.model.g_hidden_units=(64,64)",
    "--config.model.d_units=32",
    "--config.model.d_pieces=2",
    "--config.model.d_layers=2",
    "--config.train.batch_size=64",
    "--config.train.steps_per_epoch=200",
    "--config.train.log_every_steps=50",
    "--config.train.num_samples=500",
    "--config.train.verbose=0",
    "--config.train.export=False",
]


def rss_mib(pid):
    """Resident set size of a process in MiB (Linux), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+)\s+kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024.0 if match else None


def epochs_done(workdir):
    """Epochs completed: the number of the newest indexed checkpoint (0 if none)."""
    index = os.path.join(workdir, "checkpoints", "checkpoint")
    try:
        with open(index) as f:
            numbers = re.findall(r'^model_checkpoint_path: "ckpt-(\d+)"', f.read(), re.MULTILINE)
    except OSError:
        return 0
    return int(numbers[0]) if numbers else 0


def slope_per_hour(points):
    """Least-squares slope of (t_s, rss_mib) points, in MiB per hour (None for < 2 points)."""
    if len(points) < 2:
        return None
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mr = sum(r for _, r in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var == 0:
        return None
    return 3600.0 * sum((t - mt) * (r - mr) for t, r in points) / var


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--config", default="configs/ring8.py")
    parser.add_argument("--workdir", default=None, help="default: a fresh temporary directory")
    parser.add_argument("--out", default=None, help="also write the JSON here")
    parser.add_argument("overrides", nargs="*", help="extra --config.x=y flags (after --)")
    args = parser.parse_args(argv)

    workdir = args.workdir or tempfile.mkdtemp(prefix="soak-")
    overrides = DEFAULT_OVERRIDES if args.config == "configs/ring8.py" else []
    cmd = [
        sys.executable, "-m", "tfgan_orig.train", f"--config={args.config}",
        f"--workdir={workdir}", "--config.train.epochs=1000000",
        f"--config.train.time_limit_minutes={args.minutes}",
    ] + overrides + list(args.overrides)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    log_path = os.path.join(workdir, "soak_train.log")
    os.makedirs(workdir, exist_ok=True)
    print("Running:", " ".join(cmd), flush=True)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        start = time.time()
        samples = []
        deadline = start + 60.0 * args.minutes + 600.0  # the time limit stops at an epoch end
        while proc.poll() is None and time.time() < deadline:
            rss = rss_mib(proc.pid)
            if rss:  # None once gone; 0 while the child is still exec'ing
                sample = {"t_s": round(time.time() - start, 1), "rss_mib": round(rss, 1),
                          "epochs": epochs_done(workdir)}
                samples.append(sample)
                print(json.dumps(sample), flush=True)
            time.sleep(args.interval)
        if proc.poll() is None:
            proc.kill()
        returncode = proc.wait()

    after_first = [s for s in samples if s["epochs"] >= 1]
    first = after_first[0]["rss_mib"] if after_first else None
    last = samples[-1]["rss_mib"] if samples else None
    result = {
        "command": cmd,
        "workdir": workdir,
        "returncode": returncode,
        "minutes": args.minutes,
        "interval_s": args.interval,
        "epochs": epochs_done(workdir),
        "samples": samples,
        "rss_after_first_epoch_mib": first,
        "rss_last_mib": last,
        "growth_after_first_epoch_mib": None if first is None else round(last - first, 1),
        "max_rss_after_first_epoch_mib": max((s["rss_mib"] for s in after_first), default=None),
        "slope_after_first_epoch_mib_per_hour": slope_per_hour(
            [(s["t_s"], s["rss_mib"]) for s in after_first]
        ),
    }
    text = json.dumps(result, indent=2)
    print(text, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0 if returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
