"""PacGAN's mode-coverage table (Lin et al. 2018, Table 1) on the 2-D mixtures: run, evaluate, tabulate.

    python scripts/mixtures.py run   --rows gan,pacgan2,pacgan4 --datasets ring8,grid25 \
                                     --seeds 0,1,2,3,4 --epochs 400
    python scripts/mixtures.py table --rows gan,pacgan2,pacgan4 --datasets ring8,grid25 \
                                     --seeds 0,1,2,3,4
    python scripts/mixtures.py figure --rows gan,pacgan4,best --figure=docs/mixtures_samples.png
    python scripts/mixtures.py curves --rows gan,pacgan2,pacgan4 --datasets ring8,grid25 \
                                      --seeds 0,1,2,3,4 --figure=docs/mixtures_budget.png
    python scripts/mixtures.py archive --rows gan --datasets ring8 --seeds 5 \
                                       --to docs/results/reproduced_400

`scripts/reproduce_mixtures.sh` is the usual entry point (it calls both). A row is a config:
`gan` -> `configs/<dataset>.py`, any other name -> `configs/<dataset>_<row>.py` (`pacgan2`,
`pacgan4`, `best`, ...). Each (dataset, row, seed) trains in `RUNS/<dataset>/<row>/seed<k>` with
`python -m tfgan_orig.train` (resumes from the newest checkpoint when re-run: a larger `--epochs`
continues a finished shorter run), then `python -m tfgan_orig.evaluate --metrics=modes` (2,500
samples, the package's `evaluation.mode_coverage`), which writes `eval/metrics.json`; a run with a
generator EMA (`model.ema_decay` > 0) is also evaluated on its EMA generator (same latent draws,
standing batch-norm statistics, `eval/metrics_ema.json`), and the table reports the EMA generator for it (the live one in the
JSON). The wall and CPU seconds of every training invocation are appended to `wall_seconds.json` in the workdir.

`table` writes `RUNS/table.md` and `RUNS/table.json`: per dataset and row, mean +- standard error
over the seeds that have a result (sample standard deviation / sqrt(n)), the per-seed values, the
epochs each seed reached (in PacGAN's epochs of 1,000 steps, whatever the row's batch size:
`--epochs` is in those units too, see `epoch_multiplier`), the wall time, and PacGAN's published row beside it (400 epochs,
10 trials, +- standard error). Rows whose seeds did not all reach `--epochs` are marked.

`curves` reads what the training program logged during the runs (the live generator's mode
coverage every 10 package epochs, from `tensorboard/eval`) and writes, per dataset and row, the
mean +- standard error over seeds every `--every` PacGAN epochs (`RUNS/curves.md`, `.json`; with
`--figure`, a plot of HQ and modes against the budget beside PacGAN's published values; with
`--since N`, per seed the median, minimum and maximum of the values logged from PacGAN epoch N
on, which one end-of-run snapshot of an oscillating GAN does not show, and their Theil-Sen trend
per 100 epochs: how far the metric still moves across that window).

`archive --to DIR` copies what `table` and `curves` read from each evaluated run (config, wall
times, final evaluation, the logged metrics as `eval/logged.json`; a few kB, no checkpoints) into
DIR, laid out as RUNS is: `table` / `curves --runs DIR` then give the runs' numbers after the runs
are gone, and seeds trained on different machines are collected in one DIR. It refuses to replace
an archived seed with another configuration's run or a shorter one.

A run that fails (diverged, a workdir that refuses the config, a bad override) is reported and the
sweep goes on with the others; at the end it exits non-zero naming them (`failed_runs` in
table.json) and leaves them out of the table. A run stopped by a signal (SIGTERM/SIGINT: its
checkpoint is written) stops the sweep. A finished, evaluated run is reused only if its last
training invocation had the same extra `--config.` overrides (`wall_seconds.json` records them);
otherwise it is trained again (a complete run is only re-evaluated; a checkpoint whose fingerprint
the overrides change is refused by the training program, and reported as failed).
"""

import argparse
import datetime
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# PacGAN (Lin, Khetan, Fanti, Oh 2018), Table 1: 400 epochs, 10 trials, mean +- standard error.
# (modes captured, high-quality %, reverse KL), each as (mean, stderr).
PUBLISHED = {
    "ring8": {
        "gan": ((6.3, 0.5), (98.2, 0.2), (0.45, 0.09)),
        "pacgan2": ((7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
        "pacgan4": ((7.8, 0.1), (95.9, 1.4), (0.07, 0.02)),
    },
    "grid25": {
        "gan": ((17.3, 0.8), (94.8, 0.7), (0.70, 0.07)),
        "pacgan2": ((23.8, 0.7), (91.3, 0.8), (0.13, 0.04)),
        "pacgan4": ((24.8, 0.2), (93.6, 0.6), (0.04, 0.01)),
    },
}
# The "beat" rows (configs/<dataset>_best.py) are compared with PacGAN4, the best published row.
for _rows in PUBLISHED.values():
    _rows["best"] = _rows["pacgan4"]
MODES = {"ring8": 8, "grid25": 25}
# The protocol's speed settings (docs/mixtures.md, benchmarks/mixture_floor.py): XLA and 50 steps
# per execution halve the step time of these tiny nets; the mode-coverage metric is computed once
# at the end by `tfgan_orig.evaluate`, so the per-epoch one runs only every 10th epoch.
FAST = [
    "--config.train.jit_compile=True",
    "--config.train.steps_per_execution=50",
    "--config.eval.every_n_epochs=10",
]


# Exit statuses of a run stopped by a signal: `tfgan_orig.train` exits 143 (SIGTERM) or 130
# (SIGINT) after writing its checkpoint; a child killed outright has a negative return code.
INTERRUPTED = {130, 143, -2, -9, -15}


def config_path(dataset, row):
    name = dataset if row == "gan" else f"{dataset}_{row}"
    return os.path.join("configs", f"{name}.py")


_MULTIPLIER = {}


def epoch_multiplier(dataset, row):
    """Package epochs per PacGAN epoch (1,000 steps): `train.batch_size / 100`. PacGAN's packed rows
    keep 100 D rows per step (m x 100 points), so a config with pack m and batch 100 m has epochs of
    1,000 / m steps; budgets here are in PacGAN's epochs for every row."""
    key = (dataset, row)
    if key not in _MULTIPLIER:
        import runpy

        config = runpy.run_path(os.path.join(REPO, config_path(dataset, row)))["get_config"]()
        batch = int(config.train.batch_size)
        if batch % 100:
            raise SystemExit(f"{config_path(dataset, row)}: train.batch_size={batch} is not a "
                             "multiple of 100 (PacGAN's 100 rows per step)")
        _MULTIPLIER[key] = batch // 100
    return _MULTIPLIER[key]


def _config_ema(dataset, row):
    import runpy

    config = runpy.run_path(os.path.join(REPO, config_path(dataset, row)))["get_config"]()
    return float(config.model.get("ema_decay", 0.0) or 0.0)


def workdir(runs, dataset, row, seed):
    return os.path.join(runs, dataset, row, f"seed{seed}")


def _read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def _write_json(obj, path):
    from tfgan_orig import workdir  # the package's atomic write (temp file, fsync, rename)

    workdir.write_json(obj, path)


# ------------------------------------------------------------------------------------ run
# Flags `run_one` itself passes; the rest of a logged command's `--config.` flags are its extras.
_OWN_FLAGS = ("--config.seed=", "--config.train.epochs=", "--config.train.verbose=",
              "--config.train.export=", *FAST)


def _same_overrides(log, extra):
    """Whether the last logged training invocation of a workdir had these extra overrides (True
    when nothing says otherwise: no log, or an entry that did not record its command)."""
    if not log:
        return True
    last = log[-1]
    if "extra" in last:
        recorded = list(last["extra"])
    elif "command" in last:
        recorded = [t for t in last["command"].split()
                    if t.startswith("--config.") and not t.startswith(_OWN_FLAGS)]
    else:
        return True
    return recorded == list(extra)


def run_one(runs, dataset, row, seed, epochs, fast=True, extra=(), python=sys.executable):
    """Trains (or resumes) one seed to `epochs` and evaluates it; returns its metrics dict."""
    wd = workdir(runs, dataset, row, seed)
    os.makedirs(wd, exist_ok=True)
    metrics_path = os.path.join(wd, "eval", "metrics.json")
    done = _read_json(metrics_path, {})
    package_epochs = epochs * epoch_multiplier(dataset, row)
    log = _read_json(os.path.join(wd, "wall_seconds.json"), [])
    if done.get("epoch") == package_epochs and _same_overrides(log, extra):
        return done  # trained and evaluated at this budget already, with these overrides
    # Otherwise train: a run that is complete only re-evaluates, and one whose checkpoint was
    # written under other overrides that change the game is refused by its fingerprint.
    cmd = [python, "-m", "tfgan_orig.train", f"--config={config_path(dataset, row)}",
           f"--workdir={wd}", f"--config.seed={seed}", f"--config.train.epochs={package_epochs}",
           "--config.train.verbose=2", "--config.train.export=False",
           *(FAST if fast else []), *extra]
    print(" ".join(cmd), flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    log.append({
        "epochs": epochs,
        "seconds": seconds,
        "cpu_seconds": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(cmd[1:]),
        "extra": list(extra),
    })
    _write_json(log, os.path.join(wd, "wall_seconds.json"))
    subprocess.run([python, "-m", "tfgan_orig.evaluate", f"--workdir={wd}", "--metrics=modes",
                    f"--seed={seed}"], cwd=REPO, check=True)
    if (_read_json(os.path.join(wd, "config.json"), {}).get("model", {}).get("ema_decay") or 0) > 0:
        subprocess.run([python, os.path.abspath(__file__), "evaluate-ema", f"--workdir={wd}",
                        f"--seed={seed}"], cwd=REPO, check=True)
    return _read_json(metrics_path, {})


def ema_generator_ready(gan, seed):
    """The restored GAN's EMA generator with standing batch-norm statistics
    (`GAN.refresh_ema_statistics`: 10,000 draws of its own stream for `seed`, apart from the
    evaluation's draws): the copied live statistics do not fit the averaged weights. Returns the
    number of batch-norm layers updated."""
    return gan.refresh_ema_statistics(seed=seed, force=True)


def evaluate_ema(wd, seed, num=2500):
    """Mode coverage of the generator EMA (`model.ema_decay` > 0) on the same 2,500 latent draws as
    `tfgan_orig.evaluate` (same seed), with standing batch-norm statistics (`ema_generator_ready`),
    written to `eval/metrics_ema.json` (also the EMA generator with the copied statistics, as
    `copied_statistics`); no-op without EMA."""
    from tfgan_orig import data, evaluation, train_lib

    gan = train_lib.load_gan_from_workdir(wd)
    if gan.ema_generator is None:
        return None
    name = train_lib.load_config(wd).data.name
    modes, std = data.MIXTURES[name]
    # The EMA generator as `ema.update` leaves it, with the live generator's copied statistics
    # (called directly: `generate(use_ema=True)` would recompute them).
    copied_x = gan.ema_generator(gan.sample_latent(num, seed), training=False)
    copied = evaluation.mode_coverage(np.asarray(copied_x), modes(), std)
    ema_generator_ready(gan, seed)
    result = evaluation.mode_coverage(gan.generate(num, seed=seed, use_ema=True), modes(), std)
    result.update(epoch=int(gan.restored_epoch), seed=seed, num_samples=num, generator="ema",
                  copied_statistics={k: copied[k] for k in (
                      "modes_captured", "high_quality_fraction", "reverse_kl")})
    os.makedirs(os.path.join(wd, "eval"), exist_ok=True)
    _write_json(result, os.path.join(wd, "eval", "metrics_ema.json"))
    print(f"{wd} EMA generator: {result}")
    return result


# ------------------------------------------------------------------------------------ table
def mean_se(values):
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return None, None, 0
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, None, len(v)
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)), len(v)


def summarize(runs, dataset, row, seeds, epochs, generator="auto", failed=()):
    """One table row; seeds whose workdir is in `failed` (this sweep's failed runs) are left out:
    whatever results they hold predate the failed invocation."""
    per_seed = {}
    wall = cpu = 0.0
    for s in seeds:
        wd = workdir(runs, dataset, row, s)
        if wd in failed:
            continue
        m = _read_json(os.path.join(wd, "eval", "metrics.json"))
        ema = _read_json(os.path.join(wd, "eval", "metrics_ema.json"))
        if m and ema and ema.get("epoch") == m.get("epoch") and generator != "live":
            m = dict(ema, live_generator={k: m.get(k) for k in (
                "modes_captured", "high_quality_fraction", "reverse_kl")})
        if m:
            pacgan_epochs = m.get("epoch", 0) / epoch_multiplier(dataset, row)
            m = dict(m, epoch=int(pacgan_epochs) if pacgan_epochs == int(pacgan_epochs)
                     else pacgan_epochs)
            per_seed[s] = {k: m.get(k) for k in ("epoch", "modes_captured", "high_quality_fraction",
                                                 "reverse_kl", "generator", "live_generator")}
        for seg in _read_json(os.path.join(wd, "wall_seconds.json"), []):
            wall += seg["seconds"]
            cpu += seg.get("cpu_seconds") or 0.0
    out = {"dataset": dataset, "row": row, "config": config_path(dataset, row),
           "seeds": sorted(per_seed), "seeds_target": len(seeds), "epochs_target": epochs,
           "package_epochs_per_pacgan_epoch": epoch_multiplier(dataset, row),
           "epochs": [per_seed[s]["epoch"] for s in sorted(per_seed)],
           "complete": len(per_seed) == len(seeds)
           and all(per_seed[s]["epoch"] == epochs for s in per_seed),
           "wall_seconds_total": wall, "cpu_seconds_total": cpu, "per_seed": per_seed}
    for key, scale in (("modes_captured", 1), ("high_quality_fraction", 100), ("reverse_kl", 1)):
        vals = [per_seed[s][key] * scale if per_seed[s][key] is not None else None
                for s in sorted(per_seed)]
        m, se, n = mean_se(vals)
        out[key] = {"mean": m, "stderr": se, "n": n, "values": vals}
    pub = PUBLISHED.get(dataset, {}).get(row)
    out["published"] = None if pub is None else {
        "modes_captured": pub[0], "high_quality_percent": pub[1], "reverse_kl": pub[2],
        "epochs": 400, "trials": 10}
    return out


def _pm(entry, digits, suffix=""):
    if entry["mean"] is None:
        return "-"
    se = "" if entry["stderr"] is None else f"±{entry['stderr']:.{digits}f}"
    return f"{entry['mean']:.{digits}f}{se}{suffix}"


def markdown(summaries):
    lines = []
    for dataset in dict.fromkeys(s["dataset"] for s in summaries):
        k = MODES.get(dataset, "?")
        lines += [f"### {dataset}", "",
                  f"| row | epochs | seeds | modes /{k} | HQ % | reverse KL | wall min/seed "
                  f"| PacGAN (400 ep., 10 trials) modes / HQ % / rev-KL |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for s in (x for x in summaries if x["dataset"] == dataset):
            eps = sorted(set(s["epochs"]))
            ep = ",".join(map(str, eps)) or "-"
            if any(e != s["epochs_target"] for e in eps):
                ep += f" (of {s['epochs_target']})"
            n = len(s["seeds"])
            wall = f"{s['wall_seconds_total'] / 60 / n:.1f}" if n else "-"
            pub = s["published"]
            pubs = "-" if pub is None else (
                f"{pub['modes_captured'][0]}±{pub['modes_captured'][1]} / "
                f"{pub['high_quality_percent'][0]}±{pub['high_quality_percent'][1]} / "
                f"{pub['reverse_kl'][0]:.2f}±{pub['reverse_kl'][1]:.2f}")
            ema = any(v.get("generator") == "ema" for v in s["per_seed"].values())
            lines.append(f"| {s['row']}{' (EMA G)' if ema else ''} | {ep} | {n}/{s['seeds_target']} | {_pm(s['modes_captured'], 1)} | "
                         f"{_pm(s['high_quality_fraction'], 1)} | {_pm(s['reverse_kl'], 2)} | "
                         f"{wall} | {pubs} |")
        lines.append("")
    lines.append("Mean ± standard error over seeds; wall time = training invocations summed, per "
                 "seed, on the machine that ran them.")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------ curves
CURVE_METRICS = ("modes_captured", "high_quality_fraction", "reverse_kl")


def logged_metrics(wd):
    """The mode-coverage numbers the training program logged during a run (`eval.every_n_epochs`:
    the live generator on `train.num_samples` draws), from its TensorBoard event files:
    `{metric: {package epoch (1-based): value}}`. A resumed run's later files win for an epoch
    logged twice."""
    import glob

    import tensorflow as tf

    out = {m: {} for m in CURVE_METRICS}
    paths = sorted(glob.glob(os.path.join(wd, "tensorboard", "eval", "events.out.tfevents.*")))
    if not paths:  # an archived run (`archive`) keeps what its event files held as JSON
        recorded = _read_json(os.path.join(wd, ARCHIVE_LOGGED), {})
        return {m: {int(e): float(v) for e, v in recorded.get(m, {}).items()}
                for m in CURVE_METRICS}
    for path in paths:
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                name = value.tag.split("/")[-1]
                if name in out:
                    out[name][int(event.step) + 1] = float(tf.make_ndarray(value.tensor))
    return out


def theil_sen_slope(epochs, values):
    """The median of the pairwise slopes (values[j] - values[i]) / (epochs[j] - epochs[i]), i < j
    (Theil-Sen): a trend that single dips do not move (a dip enters n - 1 of the n (n - 1) / 2
    pairs), unlike a least-squares fit. None with fewer than two points."""
    pairs = [(values[j] - values[i]) / (epochs[j] - epochs[i])
             for i in range(len(epochs)) for j in range(i + 1, len(epochs))
             if epochs[j] != epochs[i]]
    return float(np.median(pairs)) if pairs else None


def late_summary(per_seed, mult, since):
    """Per seed, the median, minimum and maximum of each logged metric over the PacGAN epochs
    >= `since` (HQ in %), its trend over those epochs (`theil_sen_slope` per 100 PacGAN epochs),
    and the mean +- standard error over seeds of the medians and of the trends.

    A GAN that has stopped improving still oscillates (the ring's GAN row dips from ~98% HQ to
    50-90% for single logged epochs); one end-of-run snapshot, which is what PacGAN's table
    reports, then says little about a seed. The median over the late epochs does not move with
    one dip, and min / max show how far the dips go. The median stands for the middle of the
    window, not its end: the trend says how far a metric still moves across it (the median
    under-states a final value by about trend x window / 2)."""
    out = {"since": since, "per_seed": {}, "median": {}, "trend": {}}
    for seed, logs in per_seed.items():
        row = {}
        for metric in CURVE_METRICS:
            scale = 100.0 if metric == "high_quality_fraction" else 1.0
            late = sorted((e, scale * v) for e, v in logs[metric].items() if e >= since * mult)
            if late:
                values = [v for _, v in late]
                slope = theil_sen_slope([e / mult for e, _ in late], values)
                row[metric] = {"n": len(values), "median": float(np.median(values)),
                               "min": min(values), "max": max(values),
                               "trend_per_100": None if slope is None else 100.0 * slope}
        if row:
            out["per_seed"][seed] = row
    for metric in CURVE_METRICS:
        for key, field in (("median", "median"), ("trend", "trend_per_100")):
            m, se, n = mean_se([r[metric][field] for r in out["per_seed"].values() if metric in r])
            out[key][metric] = {"mean": m, "stderr": se, "n": n}
    return out


def curves(runs, datasets, rows, seeds, every=10, since=None):
    """Mean +- standard error over seeds of the logged metrics at every `every` PacGAN epochs
    (epochs of 1,000 steps, `epoch_multiplier`): how each row's numbers move with the budget. An
    epoch enters only with the seeds that logged it (`n` per point). With `since`, each entry also
    has `late`: `late_summary` over the PacGAN epochs >= `since`."""
    result = []
    for dataset in datasets:
        for row in rows:
            mult = epoch_multiplier(dataset, row)
            per_seed = {s: logged_metrics(workdir(runs, dataset, row, s)) for s in seeds}
            epochs = sorted({e // mult for logs in per_seed.values()
                             for e in logs["modes_captured"] if e % (mult * every) == 0})
            entry = {"dataset": dataset, "row": row, "epochs": epochs, "every": every}
            for metric in CURVE_METRICS:
                scale = 100.0 if metric == "high_quality_fraction" else 1.0
                points = []
                for epoch in epochs:
                    values = [scale * logs[metric][epoch * mult] for logs in per_seed.values()
                              if epoch * mult in logs[metric]]
                    m, se, n = mean_se(values)
                    points.append({"epoch": epoch, "mean": m, "stderr": se, "n": n})
                entry[metric] = points
            if since is not None:
                entry["late"] = late_summary(per_seed, mult, since)
            result.append(entry)
    return result


def curves_markdown(result):
    lines = []
    for entry in result:
        if not entry["epochs"]:
            continue
        lines += [f"### {entry['dataset']} {entry['row']}", "",
                  "| PacGAN epochs | " + " | ".join(map(str, entry["epochs"])) + " |",
                  "| --- |" + " --- |" * len(entry["epochs"])]
        for metric, label, digits in (("modes_captured", "modes", 1),
                                      ("high_quality_fraction", "HQ %", 1),
                                      ("reverse_kl", "reverse KL", 2)):
            cells = [_pm(p, digits) + ("" if p["n"] == max(q["n"] for q in entry[metric])
                                       else f" (n={p['n']})") for p in entry[metric]]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
        late = entry.get("late")
        if late and late["per_seed"]:
            lines += [f"From PacGAN epoch {late['since']} on, per seed: median [min, max] of the "
                      "logged values (points = logged epochs).", "",
                      "| seed | points | modes | HQ % | reverse KL |", "| --- | --- | --- | --- | --- |"]
            fmt = {"modes_captured": 1, "high_quality_fraction": 1, "reverse_kl": 2}

            def cell(r, metric):
                if metric not in r:
                    return "-"
                d = fmt[metric]
                return f"{r[metric]['median']:.{d}f} [{r[metric]['min']:.{d}f}, {r[metric]['max']:.{d}f}]"

            for seed, r in sorted(late["per_seed"].items()):
                n = max(v["n"] for v in r.values())
                lines.append(f"| {seed} | {n} | " + " | ".join(cell(r, m) for m in CURVE_METRICS) + " |")
            lines.append("| mean ± SE of the medians | | " + " | ".join(
                _pm(late["median"][m], fmt[m]) for m in CURVE_METRICS) + " |")
            if late.get("trend"):  # archives written before the trend existed have none
                lines.append("| trend per 100 epochs (Theil-Sen), mean ± SE | | " + " | ".join(
                    _pm(late["trend"][m], fmt[m] + 1) for m in CURVE_METRICS) + " |")
            lines.append("")
    lines.append("Mean ± standard error over seeds of the metric the training program logs during "
                 "the run (live generator, 2,500 draws); n = seeds that reached the epoch.")
    return "\n".join(lines) + "\n"


def curves_figure(result, path):
    """HQ % and modes against PacGAN epochs, one line per row (mean +- standard error), PacGAN's
    published 400-epoch value as a dotted line in the row's colour."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    datasets = list(dict.fromkeys(e["dataset"] for e in result))
    fig = Figure(figsize=(9.5, 3.6 * len(datasets)), dpi=100)
    for i, dataset in enumerate(datasets):
        for j, (metric, label, pub_index) in enumerate(
                (("high_quality_fraction", "high-quality samples %", 1),
                 ("modes_captured", f"modes captured (of {MODES[dataset]})", 0))):
            ax = fig.add_subplot(len(datasets), 2, 2 * i + j + 1)
            for k, entry in enumerate(e for e in result if e["dataset"] == dataset):
                points = [p for p in entry[metric] if p["mean"] is not None]
                if not points:
                    continue
                colour = f"C{k}"
                x = np.array([p["epoch"] for p in points])
                y = np.array([p["mean"] for p in points])
                se = np.array([p["stderr"] or 0.0 for p in points])
                ax.plot(x, y, "o-", color=colour, ms=3, label=entry["row"])
                ax.fill_between(x, y - se, y + se, color=colour, alpha=0.2)
                pub = PUBLISHED.get(dataset, {}).get(entry["row"])
                if pub is not None:
                    ax.axhline(pub[pub_index][0], color=colour, ls=":", lw=1)
            ax.set_xlabel("PacGAN epochs (of 1,000 steps)")
            ax.set_title(f"{dataset}: {label}", fontsize=10)
            ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("dotted: PacGAN's published value after 400 epochs", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    print(f"wrote {path}")


# ------------------------------------------------------------------------------------ archive
# What `table` and `curves` read from a run, kept small enough to commit (a few kB per seed).
ARCHIVE_FILES = ("config.json", "wall_seconds.json", os.path.join("eval", "metrics.json"),
                 os.path.join("eval", "metrics_ema.json"))
ARCHIVE_LOGGED = os.path.join("eval", "logged.json")  # `logged_metrics` as JSON


def archive(runs, to, datasets, rows, seeds):
    """Copies each evaluated run's results into `to`, laid out as `runs` is, so that `table` and
    `curves --runs TO` give the same numbers as on the runs, without their checkpoints or event
    files: the config, the wall-time log, the final evaluation(s) and what the run logged during
    training (`eval/logged.json`). Runs are lost with the disk they trained on; their archive can
    be committed, and seeds trained on different machines or sessions collected in one directory.

    Never replaces an archived result with a different run's: a seed already archived under a
    config with other defining fields (`workdir.run_fingerprint`), or at a larger budget than the
    run now holds, raises SystemExit naming both and writes nothing. Returns the archived workdirs
    (in `to`)."""
    from tfgan_orig import config as config_lib
    from tfgan_orig import workdir as workdir_lib

    plan = []
    for dataset in datasets:
        for row in rows:
            for seed in seeds:
                src, dst = workdir(runs, dataset, row, seed), workdir(to, dataset, row, seed)
                metrics = _read_json(os.path.join(src, "eval", "metrics.json"))
                if not metrics:
                    continue  # not trained and evaluated (yet): nothing to keep
                old = _read_json(os.path.join(dst, "eval", "metrics.json"))
                if old:
                    differences = workdir_lib.fingerprint_differences(
                        workdir_lib.run_fingerprint(_read_json(os.path.join(dst, "config.json"), {})),
                        workdir_lib.run_fingerprint(_read_json(os.path.join(src, "config.json"), {})),
                        config_lib.default_fingerprint())
                    if differences:
                        raise SystemExit(f"{dst} holds another run than {src}: "
                                         + "; ".join(differences))
                    if old.get("epoch", 0) > metrics.get("epoch", 0):
                        raise SystemExit(f"{dst} holds epoch {old.get('epoch')}, {src} only epoch "
                                         f"{metrics.get('epoch')}: not replaced by a shorter run")
                plan.append((src, dst))
    for src, dst in plan:  # checked all first: a refused seed leaves the archive as it was
        for name in ARCHIVE_FILES:
            value, target = _read_json(os.path.join(src, name)), os.path.join(dst, name)
            if value is not None:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                _write_json(value, target)
            elif os.path.exists(target):  # e.g. an EMA evaluation of an earlier budget: stale
                os.remove(target)
        logged = logged_metrics(src)
        _write_json({m: {str(e): v for e, v in sorted(logged[m].items())} for m in CURVE_METRICS},
                    os.path.join(dst, ARCHIVE_LOGGED))
        print(f"archived {src} -> {dst}")
    return [dst for _, dst in plan]


# ------------------------------------------------------------------------------------ figure
def figure(runs, datasets, rows, seed, path, labels=None):
    """One scatter per (dataset, row): 2,500 samples of seed `seed`'s final generator (the EMA one,
    with standing statistics, when the row's config has one) over the modes, with its
    mode-coverage numbers in the title."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from tfgan_orig import data, evaluation, train_lib

    fig = Figure(figsize=(3.2 * len(rows), 3.7 * len(datasets)), dpi=100)
    for i, dataset in enumerate(datasets):
        modes, std = data.MIXTURES[dataset]
        centres = modes()
        for j, row in enumerate(rows):
            ax = fig.add_subplot(len(datasets), len(rows), i * len(rows) + j + 1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
            lim = float(abs(centres).max()) * 1.35
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            label = (labels or {}).get(row, row)
            wd = workdir(runs, dataset, row, seed)
            try:
                gan = train_lib.load_gan_from_workdir(wd)
            except FileNotFoundError:
                ax.set_title(f"{dataset} {label}: no run", fontsize=9)
                continue
            # The EMA generator where the row's config has one (the reproduced rows' runs may
            # carry an EMA added by an override: their figure shows the live generator).
            use_ema = gan.ema_generator is not None and _config_ema(dataset, row) > 0
            if use_ema:
                ema_generator_ready(gan, seed)
            x = gan.generate(2500, seed=seed, use_ema=use_ema)
            r = evaluation.mode_coverage(x, centres, std)
            ax.scatter(x[:, 0], x[:, 1], s=1.5, c="tab:blue", alpha=0.4)
            ax.scatter(centres[:, 0], centres[:, 1], s=25, c="tab:red", marker="x")
            ax.set_title(
                f"{dataset} {label}{' (EMA)' if use_ema else ''}, "
                f"{gan.restored_epoch / epoch_multiplier(dataset, row):g} ep.\n"
                f"{r['modes_captured']}/{len(centres)} modes, "
                f"{100 * r['high_quality_fraction']:.1f}% HQ, KL {r['reverse_kl']:.2f}",
                fontsize=9,
            )
    fig.tight_layout()
    fig.savefig(path)
    print(f"wrote {path}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["run", "table", "all", "evaluate-ema", "figure", "curves",
                                        "archive"])
    p.add_argument("--to", help="archive: the directory the runs' results are copied into")
    p.add_argument("--figure", default="docs/mixtures_samples.png", help="figure: output PNG")
    p.add_argument("--figure-seed", type=int, default=0, help="figure: which seed's run to plot")
    p.add_argument("--workdir", help="evaluate-ema: the training workdir")
    p.add_argument("--seed", type=int, default=0, help="evaluate-ema: latent seed")
    p.add_argument("--rows", default="gan,pacgan2,pacgan4")
    p.add_argument("--datasets", default="ring8,grid25")
    p.add_argument("--seeds", default="0,1,2,3,4,5,6,7,8,9")
    p.add_argument("--epochs", type=int, default=400)
    p.add_argument("--runs", default="runs/mixtures")
    p.add_argument("--no-fast", dest="fast", action="store_false",
                   help="the configs' own speed settings instead of XLA + 50 steps/execution")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--generator", choices=["auto", "live", "ema"], default="auto",
                   help="table: which generator's numbers (auto: the EMA one where the run has it)")
    p.add_argument("--output", default=None,
                   help="table / curves basename (default RUNS/table, RUNS/curves)")
    p.add_argument("--every", type=int, default=10, help="curves: a point every N PacGAN epochs")
    p.add_argument("--since", type=int, default=None,
                   help="curves: also per-seed median/min/max over PacGAN epochs >= N")
    args, extra = p.parse_known_args()  # the rest: --config.X=Y overrides for every run
    args.figure_given = any(a == "--figure" or a.startswith("--figure=") for a in sys.argv[1:])
    extra = [e for e in extra if e != "--"]
    bad = [e for e in extra if not e.startswith("--config.")]
    if bad:
        p.error(f"unrecognized arguments (only --config.X=Y overrides pass through): {bad}")
    args.extra = extra
    if args.command == "evaluate-ema":
        evaluate_ema(args.workdir, args.seed)
        return
    rows = [r for r in args.rows.split(",") if r]
    datasets = [d for d in args.datasets.split(",") if d]
    seeds = [int(s) for s in args.seeds.split(",") if s != ""]
    for d in datasets:
        for r in rows:
            if not os.path.exists(os.path.join(REPO, config_path(d, r))):
                raise SystemExit(f"no config {config_path(d, r)} for row {r!r} on {d!r}")
    if args.command == "archive":
        if not args.to:
            p.error("archive needs --to DIR (e.g. docs/results/<name>)")
        archive(args.runs, args.to, datasets, rows, seeds)
        return
    if args.command == "figure":
        figure(args.runs, datasets, rows, args.figure_seed, args.figure)
        return
    if args.command == "curves":
        result = curves(args.runs, datasets, rows, seeds, args.every, args.since)
        base = args.output or os.path.join(args.runs, "curves")
        os.makedirs(os.path.dirname(base) or ".", exist_ok=True)
        _write_json({"schema": "tfgan_orig.mixtures_curves/1", "curves": result}, base + ".json")
        with open(base + ".md", "w") as f:
            f.write(curves_markdown(result))
        print(curves_markdown(result))
        if args.figure_given:
            curves_figure(result, args.figure)
        return
    failed = []
    if args.command in ("run", "all"):
        for d in datasets:  # seed-major: every row gets its first seeds early
            for s in seeds:
                for r in rows:
                    try:
                        run_one(args.runs, d, r, s, args.epochs, args.fast, args.extra,
                                args.python)
                    except subprocess.CalledProcessError as e:
                        wd = workdir(args.runs, d, r, s)
                        if e.returncode in INTERRUPTED:  # a signal stopped the run: stop too
                            raise SystemExit(f"interrupted in {wd} (exit {e.returncode}); run "
                                             "the same command again to resume")
                        # One bad run (diverged, refused workdir, bad override) must not cost
                        # the rest of a sweep of hours: record it, go on, fail at the end.
                        failed.append({"workdir": wd, "exit_code": e.returncode,
                                       "command": " ".join(map(str, e.cmd[1:]))})
                        print(f"FAILED (exit {e.returncode}): {wd}; going on with the other runs",
                              file=sys.stderr, flush=True)
    if args.command in ("table", "all"):
        failed_wds = {f["workdir"] for f in failed}
        summaries = [summarize(args.runs, d, r, seeds, args.epochs, args.generator, failed_wds)
                     for d in datasets for r in rows]
        base = args.output or os.path.join(args.runs, "table")
        os.makedirs(os.path.dirname(base) or ".", exist_ok=True)
        _write_json({"schema": "tfgan_orig.mixtures_table/1", "rows": summaries,
                     "failed_runs": failed}, base + ".json")
        text = markdown(summaries)
        with open(base + ".md", "w") as f:
            f.write(text)
        print(text)
    if failed:
        raise SystemExit(f"{len(failed)} run(s) failed (their output above): "
                         + ", ".join(f["workdir"] for f in failed))


if __name__ == "__main__":
    main()
