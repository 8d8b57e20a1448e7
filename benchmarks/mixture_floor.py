"""The 2-D mixture protocol's training step against its compute floor, side by side in one run.

    python benchmarks/mixture_floor.py                 # floor + 4 training-program rows, ~5 min
    python benchmarks/mixture_floor.py --quick         # smoke test (tiny counts)
    python benchmarks/mixture_floor.py --rows xla_spe50,xla_spe50_noeval --epochs 4

Three measurements, one JSON (default benchmarks/results/mixture_floor.json) and a table:

1. **FLOPs per training step**, counted from the layer shapes (`step_flops`): PacGAN's ring8/grid25
   setup (G 2-400x4-2 with batch norm, D 3 maxout layers 200 x 5 -> 1 logit, batch B = 100), one
   step = Algorithm 1 with k = 1 as `tfgan_orig.GAN.train_step` runs it:
   - D update: G forward on B, D forward on B real + B fake, D backward (weight and input grads);
   - G update: G forward on B, D forward on B, D backward (input grads only), G backward.
   Backward of a dense layer = 2 x its forward (dW and dX); the first layer's dX is not needed.
   Only matmuls are counted (bias, batch norm, ReLU, maxout, Adam are O(units), < 1%).
2. **Matmul FLOP/s** on this machine at the step's shapes and at 1024^2 (`tf.matmul`, chains of 50
   dependent products in one XLA-compiled `tf.function`, best of several repetitions), with the
   threads training uses. The *floor* of a step = sum over its matmuls of FLOPs / rate at that matmul's shape.
3. **Training program steps/s**: `python -m tfgan_orig.train --config=configs/ring8.py` in a
   subprocess on a fresh workdir, per row of overrides (default; XLA + steps_per_execution=50;
   each with the per-epoch mode-coverage evaluation on and off). From the run's TensorBoard events:
   `hot ms/step` = median over the 100-step windows of the `images_per_second` scalar (the fit loop
   alone), `epoch ms/step` = median wall time between consecutive epoch ends / steps (everything:
   epoch-end pictures, evaluation, checkpoint); the first epoch (tracing, XLA compilation) is
   excluded. `cpu ms/step` = the subprocess's user+sys CPU time over the whole run / its steps
   (includes start-up; robust to other processes' load, unlike wall time).

Ratios are of the same run. No pass/fail thresholds: the numbers go to docs/mixtures.md.
"""

import argparse
import glob
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, overrides) of the training-program rows
ROWS = {
    "default": [],
    "default_noeval": ["--config.eval.metrics="],
    "xla_spe50": ["--config.train.jit_compile=True", "--config.train.steps_per_execution=50"],
    "xla_spe50_noeval": [
        "--config.train.jit_compile=True",
        "--config.train.steps_per_execution=50",
        "--config.eval.metrics=",
    ],
}


# ------------------------------------------------------------------------------------ 1. FLOPs
def _dense(batch, fan_in, fan_out):
    return 2 * batch * fan_in * fan_out  # multiply-adds x 2


def step_flops(batch=100, latent=2, g_units=(400, 400, 400, 400), x_dim=2, d_units=200, pieces=5,
               d_layers=3, pack=1):
    """Matmul FLOPs of one k = 1 training step, by part. `pack` = PacGAN's m (D input m * x_dim,
    G run on m * batch noise vectors per step). Returns {part: flops} and a list of matmul shapes
    `(m, k, n, count)` for the floor."""
    g_dims = [latent, *g_units, x_dim]
    d_dims = [x_dim * pack] + [d_units] * (d_layers - 1)  # maxout layers' inputs
    gb = batch * pack

    def g_layers(b):
        return [(b, i, o) for i, o in zip(g_dims[:-1], g_dims[1:])]

    def d_layers_(b):
        shapes = [(b, i, d_units * pieces) for i in d_dims]
        return shapes + [(b, d_units, 1)]

    shapes = []  # (m, k, n): an [m, k] x [k, n] product

    def fwd(layers):
        shapes.extend(layers)
        return sum(_dense(*s) for s in layers)

    def bwd(layers, weight_grads=True):
        total = 0
        for j, (b, i, o) in enumerate(layers):
            if weight_grads:  # dW = x^T dy: [i, b] x [b, o]
                shapes.append((i, b, o))
                total += _dense(b, i, o)
            if j > 0:  # dX = dy W^T: [b, o] x [o, i]; not needed for the first layer
                shapes.append((b, o, i))
                total += _dense(b, i, o)
        return total

    parts = {
        "D step: G forward": fwd(g_layers(gb)),
        "D step: D forward (real + fake)": fwd(d_layers_(batch)) + fwd(d_layers_(batch)),
        "D step: D backward": bwd(d_layers_(batch)) + bwd(d_layers_(batch)),
        "G step: G forward": fwd(g_layers(gb)),
        "G step: D forward": fwd(d_layers_(batch)),
        "G step: D backward (input grads)": bwd(d_layers_(batch), weight_grads=False)
        + 2 * batch * x_dim * pack * d_units * pieces,  # the first layer's dX is needed here
        "G step: G backward": bwd(g_layers(gb)),
    }
    shapes.append((batch, d_units * pieces, x_dim * pack))
    return parts, shapes


# ------------------------------------------------------------------------------------ 2. matmul
def matmul_rates(shapes, threads, reps, chain=50, min_seconds=0.3):
    """GFLOP/s of `tf.matmul` at each distinct (m, k, n), best and median of `reps` repetitions."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    out = {}
    for m, k, n in shapes:
        a = tf.random.normal([m, k])
        w = tf.random.normal([k, n]) / (k ** 0.5)

        @tf.function(jit_compile=True)  # no per-op executor overhead: the maths alone
        def run(x, w=w):
            for _ in range(chain):  # each product depends on the previous one: no reuse
                y = tf.matmul(x, w)
                x = x + 1e-6 * tf.reduce_mean(y)
            return x

        run(a).numpy()
        calls = 1
        while True:  # calls per repetition so that one repetition takes >= min_seconds
            t0 = time.perf_counter()
            for _ in range(calls):
                r = run(a)
            r.numpy()
            if time.perf_counter() - t0 >= min_seconds:
                break
            calls *= 2
        rates, cpu_rates = [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(calls):
                r = run(a)
            r.numpy()
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            rates.append(calls * chain * 2 * m * k * n / dt / 1e9)
            cpu_rates.append(calls * chain * 2 * m * k * n / dc / 1e9)
        out[(m, k, n)] = {"best": max(rates), "median": statistics.median(rates),
                          "per_cpu_second": statistics.median(cpu_rates)}
    return out


# ------------------------------------------------------------------------------------ 3. training
def _events(path):
    import tensorflow as tf

    rows = []
    for f in sorted(glob.glob(os.path.join(path, "events.out.tfevents.*"))):
        for e in tf.compat.v1.train.summary_iterator(f):
            for v in e.summary.value:
                value = v.simple_value
                if v.HasField("tensor"):
                    arr = tf.make_ndarray(v.tensor)
                    if arr.size != 1:
                        continue  # pictures
                    value = float(arr.reshape(-1)[0])
                rows.append((v.tag, e.step, e.wall_time, value))
    return rows


def train_row(name, overrides, config, epochs, steps, batch):
    workdir = tempfile.mkdtemp(prefix=f"mixture_floor_{name}_")
    cmd = [sys.executable, "-m", "tfgan_orig.train", f"--config={config}", f"--workdir={workdir}",
           f"--config.train.epochs={epochs}", f"--config.train.steps_per_epoch={steps}",
           "--config.train.verbose=0", "--config.train.export=False", *overrides]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise RuntimeError(f"{name}: {' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ev = _events(os.path.join(workdir, "tensorboard"))
    ends = sorted((s, w) for t, s, w, _ in ev if t == "epoch/d_loss")
    periods = [(w1 - w0) / steps for (_, w0), (_, w1) in zip(ends[:-1], ends[1:])]
    first_epoch_end = steps
    windows = [batch / v for t, s, _, v in ev if t == "images_per_second" and s > first_epoch_end]
    return {
        "overrides": overrides,
        "workdir": workdir,
        "hot_ms_per_step": 1e3 * statistics.median(windows) if windows else None,
        "epoch_ms_per_step": 1e3 * statistics.median(periods) if periods else None,
        "cpu_ms_per_step": 1e3 * cpu / (epochs * steps),
        "process_seconds": wall,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="configs/ring8.py")
    p.add_argument("--rows", default=",".join(ROWS))
    p.add_argument("--epochs", type=int, default=3, help="training epochs per row (first excluded)")
    p.add_argument("--steps", type=int, default=1000, help="steps per epoch (PacGAN: 1,000)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--pack", type=int, default=1, help="PacGAN's m for the FLOP count")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", default=os.path.join(REPO, "benchmarks/results/mixture_floor.json"))
    args = p.parse_args()
    if args.quick:
        args.epochs, args.steps, args.reps = 2, 100, 2
    batch = 100

    parts, shapes = step_flops(batch=batch, pack=args.pack)
    total = sum(parts.values())
    distinct = sorted(set(shapes)) + [(1024, 1024, 1024)]
    rates = matmul_rates(distinct, args.threads, args.reps)
    floor_s = sum(_dense(*s) / (rates[s]["best"] * 1e9) for s in shapes)
    # The same floor in CPU time (GFLOP per CPU-second of the measuring process): comparable with
    # the rows' cpu ms/step, and much less sensitive to other processes' load than wall time.
    floor_cpu_s = sum(_dense(*s) / (rates[s]["per_cpu_second"] * 1e9) for s in shapes)
    peak = rates[(1024, 1024, 1024)]["best"]

    rows = {}
    for name in [r for r in args.rows.split(",") if r]:
        if name not in ROWS:
            raise SystemExit(f"unknown row {name!r}; valid: {', '.join(ROWS)}")
        rows[name] = train_row(name, ROWS[name], args.config, args.epochs, args.steps, batch)
        print(f"{name}: {rows[name]}", flush=True)

    result = {
        "schema": "tfgan_orig.benchmarks.mixture_floor/1",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_avg_at_end": os.getloadavg()},
        "args": vars(args),
        "flops_per_step": total,
        "flops_by_part": parts,
        "matmul_gflops": {f"{m}x{k}x{n}": r for (m, k, n), r in rates.items()},
        "floor_ms_per_step_at_step_shapes": 1e3 * floor_s,
        "floor_ms_per_step_at_1024_peak": 1e3 * total / (peak * 1e9),
        "floor_cpu_ms_per_step_at_step_shapes": 1e3 * floor_cpu_s,
        "rows": rows,
    }
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)

    print(f"\nFLOPs per step (matmuls): {total / 1e9:.3f} GFLOP (pack m={args.pack}, batch {batch})")
    for part, fl in parts.items():
        print(f"  {part:34s} {fl / 1e6:8.1f} MFLOP")
    print("\nmatmul GFLOP/s (best / median wall; median per CPU-second), threads =", args.threads)
    for (m, k, n), r in rates.items():
        print(f"  [{m},{k}]x[{k},{n}]  {r['best']:7.1f} / {r['median']:7.1f}; "
              f"{r['per_cpu_second']:7.1f}")
    print(f"\nfloor: {1e3 * floor_s:.2f} ms/step at the step's shapes (wall, best); "
          f"{result['floor_ms_per_step_at_1024_peak']:.2f} ms/step at the 1024^2 rate; "
          f"{1e3 * floor_cpu_s:.2f} CPU-ms/step")
    print("\n| row | hot ms/step | epoch ms/step | cpu ms/step | epoch / floor | cpu / cpu floor |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        ep = r["epoch_ms_per_step"]
        fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
        ratio = "n/a" if ep is None else f"{ep / (1e3 * floor_s):.1f}x"
        cpu_ratio = f"{r['cpu_ms_per_step'] / (1e3 * floor_cpu_s):.1f}x"
        print(f"| {name} | {fmt(r['hot_ms_per_step'])} | {fmt(ep)} | "
              f"{fmt(r['cpu_ms_per_step'])} | {ratio} | {cpu_ratio} |")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
