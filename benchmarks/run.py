"""Training images/s of tfgan_orig's `GAN.fit` against a raw TensorFlow step, XLA, PyTorch eager
and the input pipeline, measured side by side in one run.

    python benchmarks/run.py                      # everything (~25 min on 2 cores), table + JSON
    python benchmarks/run.py --groups mlp_b100    # one group
    python benchmarks/run.py --quick              # tiny nets, a few steps: the smoke test

How it measures (see benchmarks/README.md):
- every row runs in its own worker process (clean peak RSS, its own thread settings, TensorFlow
  never loaded next to PyTorch); all workers of a group are started and warmed up (tracing, XLA
  compilation, one untimed rep), then repetitions are interleaved round-robin, one worker running
  at a time, with the order rotated every round, so machine noise hits all rows alike;
- a row's rate is the median over repetitions of `images / seconds`, one image = one real example
  consumed by one step of Algorithm 1 (k = 1: one D update and one G update);
- ratios are between rows of the same group in the same run;
- TensorFlow: intra- and inter-op threads = --threads; PyTorch: `set_num_threads(--threads)`,
  `set_num_interop_threads(--threads)`.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MARK = "@@BENCH "
BATCH_SWEEP = (32, 64, 128, 256, 512, 1024)

# libgomp's threads spin while they wait; on an oversubscribed machine that starves PyTorch (seen
# here: 40x slower under a load of 20 on 2 cores). The passive row is PyTorch with sleeping waits;
# ratios use the faster of the two PyTorch rows, so the peer is never handicapped.
PASSIVE = {"OMP_WAIT_POLICY": "PASSIVE"}

TARGETS = {
    "fit_vs_raw": 0.95,
    "mlp_vs_torch": 1.25,
    "dcgan_vs_torch": 1.0,
    "pipeline_vs_training": 10.0,
}


# ================================================================================= worker process
def _peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _say(kind, payload):
    sys.stdout.write(MARK + json.dumps({"kind": kind, **payload}) + "\n")
    sys.stdout.flush()


def worker(cfg):
    """Builds one row, warms it up, then runs a timed rep per `run` line read from stdin."""
    t0 = time.perf_counter()
    threads = cfg["threads"]
    if cfg["kind"] == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
        sys.path.insert(0, HERE)
        import torch_peer

        row = torch_peer.TorchRow(cfg)
        versions = {"torch": torch.__version__}
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        if cfg["replicas"] > 1:
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * cfg["replicas"]
            )
        import keras

        sys.path.insert(0, HERE)
        import workloads

        row = workloads.ROWS[cfg["kind"]](cfg)
        versions = {"tensorflow": tf.__version__, "keras": keras.__version__}
    built = time.perf_counter()
    row.warmup()
    _say(
        "ready",
        {
            "build_s": built - t0,
            "warmup_s": time.perf_counter() - built,
            "effective": row.effective,
            "data": row.data_name,
            "versions": versions,
        },
    )
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "run":
            images, seconds = row.rep()
            _say("result", {"images": images, "seconds": seconds})
        elif cmd == "exit":
            break
    row.close()
    _say("done", {"peak_rss_mb": _peak_rss_mb()})


# ================================================================================= coordinator
class Worker:
    def __init__(self, cfg, log_dir):
        self.cfg = cfg
        self.log_path = os.path.join(log_dir, f"{cfg['group']}__{cfg['name']}.log".replace("/", "_"))
        self.log = open(self.log_path, "w")
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        env.update(cfg.get("env") or {})
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(cfg)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            bufsize=1,
            cwd=ROOT,
        )

    def read(self, kind):
        for line in self.proc.stdout:
            if line.startswith(MARK):
                msg = json.loads(line[len(MARK) :])
                if msg["kind"] == kind:
                    return msg
        self.proc.wait()
        self.log.flush()
        with open(self.log_path) as f:
            tail = f.read()[-4000:]
        raise RuntimeError(
            f"worker {self.cfg['group']}/{self.cfg['name']} exited ({self.proc.returncode}) "
            f"before '{kind}'. Log tail:\n{tail}"
        )

    def send(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.send("exit")
                msg = self.read("done")
            finally:
                self.proc.stdin.close()
                self.proc.wait(timeout=120)
            return msg
        return {}

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _steps(target_images, batch, multiple=10, minimum=10):
    """Steps per rep: about `target_images`, a multiple of `multiple` (steps_per_execution)."""
    steps = max(minimum, int(round(target_images / batch / multiple)) * multiple)
    return steps


def row_cfg(
    name, kind, model, batch, steps, *, replicas=1, spe=None, jit=None, default=False, env=None,
    bn="sync",
):
    return {
        "bn": bn,
        "env": env or {},
        "name": name,
        "kind": kind,
        "model": model,
        "batch": batch,
        "steps": steps,
        "replicas": replicas,
        "spe": spe,
        "jit": jit,
        "package_default": default,
    }


def plan(args):
    """The groups to run: each a list of rows measured against each other."""
    quick = args.quick
    mlp_imgs = 200 if quick else args.mlp_images
    dcgan_imgs = 200 if quick else args.dcgan_images
    groups = []

    def model_group(gname, model, batch, imgs):
        steps = _steps(imgs, batch, minimum=10)
        if quick:
            batch, steps = 16, 4
        rows = [
            row_cfg("fit", "fit", model, batch, steps, default=True),
            row_cfg("fit[spe=10]", "fit", model, batch, steps, spe=10),
            row_cfg("fit[jit]", "fit", model, batch, steps, jit=True),
            row_cfg("fit[jit,spe=10]", "fit", model, batch, steps, spe=10, jit=True),
            row_cfg("fit[nojit,spe=1]", "fit", model, batch, steps, spe=1, jit=False),
            row_cfg("raw", "raw", model, batch, steps, jit=False),
            row_cfg("raw[xla]", "raw", model, batch, steps, jit=True),
            row_cfg("torch", "torch", model, batch, steps),
            row_cfg("torch[omp-passive]", "torch", model, batch, steps, env=PASSIVE),
            row_cfg("pipeline", "pipeline", model, batch, steps * 10),
        ]
        if quick:  # every code path once: fit with and without spe/XLA, raw, XLA, torch, pipeline
            keep = ("fit", "fit[jit,spe=10]", "raw", "raw[xla]", "torch", "pipeline")
            rows = [
                dict(r, spe=2, name=r["name"].replace("spe=10", "spe=2")) if r["spe"] else r
                for r in rows
                if r["name"] in keep
            ]
        groups.append({"name": gname, "model": model, "batch": batch, "rows": rows})

    model_group("mlp_b100", "mlp", 100, mlp_imgs)
    model_group("dcgan_b128", "dcgan", 128, dcgan_imgs)
    for b in (16, 32) if quick else BATCH_SWEEP:
        steps = 4 if quick else _steps(mlp_imgs, b)
        rows = [
            row_cfg("fit", "fit", "mlp", b, steps, default=True),
            row_cfg("raw", "raw", "mlp", b, steps, jit=False),
            row_cfg("raw[xla]", "raw", "mlp", b, steps, jit=True),
            row_cfg("torch", "torch", "mlp", b, steps),
            row_cfg("torch[omp-passive]", "torch", "mlp", b, steps, env=PASSIVE),
        ]
        groups.append({"name": f"mlp_batch{b}", "model": "mlp", "batch": b, "rows": rows})
    steps, b = (4, 16) if quick else (_steps(mlp_imgs, 100), 100)
    rows = [
        row_cfg("fit r1", "fit", "mlp", b, steps, replicas=1, default=True),
        row_cfg("fit r2", "fit", "mlp", b, steps, replicas=2, default=True),
        row_cfg("raw r1", "raw", "mlp", b, steps, replicas=1, jit=False),
        row_cfg("raw r2", "raw", "mlp", b, steps, replicas=2, jit=False),
    ]
    if quick:  # the 1-replica paths are the rows above
        rows = [r for r in rows if r["replicas"] == 2]
    groups.append({"name": "mlp_replicas", "model": "mlp", "batch": b, "rows": rows})
    # The price of synchronized batch norm (the package's default: the same weights on 1 and R
    # replicas) against Keras' per-replica batch norm, on the DCGAN nets.
    steps, b = (4, 16) if quick else (_steps(dcgan_imgs, 64), 64)
    rows = [
        row_cfg(f"fit r{r}{tag}", "fit", "dcgan", b, steps, replicas=r, default=not tag, bn=bn)
        for r in (1, 2)
        for tag, bn in (("", "sync"), ("[bn=local]", "local"))
    ]
    groups.append({"name": "dcgan_bn", "model": "dcgan", "batch": b, "rows": rows})
    if args.groups:
        wanted = set(args.groups.split(","))
        unknown = wanted - {g["name"] for g in groups}
        if unknown:
            raise SystemExit(f"Unknown groups {sorted(unknown)}. Valid: {[g['name'] for g in groups]}")
        groups = [g for g in groups if g["name"] in wanted]
    if args.rows:
        keep = set(args.rows.split(","))
        for g in groups:
            g["rows"] = [r for r in g["rows"] if r["name"] in keep]
    if args.no_torch or not _torch_available():
        for g in groups:
            g["rows"] = [r for r in g["rows"] if r["kind"] != "torch"]
    return groups


def _torch_available():
    try:
        import importlib.util

        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def run_group(group, args, log_dir):
    workers = []
    results = {}
    try:
        # Workers are built and warmed up `--start-jobs` at a time (untimed); then they idle.
        pending = []
        for r in group["rows"]:
            cfg = dict(r, group=group["name"], quick=args.quick, threads=args.threads)
            cfg["warmup_reps"] = 1
            workers.append(Worker(cfg, log_dir))
            pending.append(workers[-1])
            if len(pending) >= args.start_jobs:
                w = pending.pop(0)
                results[w.cfg["name"]] = {"ready": w.read("ready"), "reps": []}
        for w in pending:
            results[w.cfg["name"]] = {"ready": w.read("ready"), "reps": []}
        reps = args.reps
        for i in range(reps):
            order = workers[i % len(workers) :] + workers[: i % len(workers)]
            for w in order:
                w.send("run")
                msg = w.read("result")
                results[w.cfg["name"]]["reps"].append(msg)
                if not args.quiet:
                    print(
                        f"  [{group['name']}] rep {i + 1}/{reps} {w.cfg['name']}: "
                        f"{msg['images'] / msg['seconds']:.0f} images/s ({msg['seconds']:.1f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
        for w in workers:
            results[w.cfg["name"]]["done"] = w.stop()
    finally:
        for w in workers:
            w.kill()
    rows = []
    for r in group["rows"]:
        res = results[r["name"]]
        rates = [m["images"] / m["seconds"] for m in res["reps"]]
        rows.append(
            {
                **{k: r[k] for k in ("name", "kind", "model", "batch", "replicas", "spe", "jit")},
                "package_default": r["package_default"],
                "steps_per_rep": r["steps"],
                "images_per_s": statistics.median(rates),
                "images_per_s_best": max(rates),
                "images_per_s_reps": rates,
                "spread": (max(rates) - min(rates)) / statistics.median(rates),
                "peak_rss_mb": res["done"].get("peak_rss_mb"),
                "effective": res["ready"]["effective"],
                "data": res["ready"]["data"],
                "build_s": res["ready"]["build_s"],
                "warmup_s": res["ready"]["warmup_s"],
                "versions": res["ready"]["versions"],
            }
        )
    return rows


def _rate(rows, name, stat="images_per_s"):
    for r in rows:
        if r["name"] == name:
            return r[stat]
    return None


def _best_torch(rows, stat="images_per_s"):
    rates = [r[stat] for r in rows if r["kind"] == "torch"]
    return max(rates) if rates else None


def group_ratios(group, rows):
    """Ratios within one group: each row over `raw` and over the faster `torch` row, of medians
    (`vs_raw`, `vs_torch`) and of best repetitions (`best_vs_raw`, `best_vs_torch`)."""
    for r in rows:
        r.setdefault("images_per_s_best", max(r["images_per_s_reps"]))
    for stat, prefix in (("images_per_s", ""), ("images_per_s_best", "best_")):
        raw = _rate(rows, "raw", stat) or _rate(rows, "raw r1", stat)
        torch_rate = _best_torch(rows, stat)
        for r in rows:
            r[prefix + "vs_raw"] = r[stat] / raw if raw else None
            r[prefix + "vs_torch"] = r[stat] / torch_rate if torch_rate else None
    return rows


def targets(groups_out):
    """Target ratios from medians and, as `value_best`, from each row's best repetition (on a
    shared machine the best repetition is the one least disturbed by other processes)."""
    med = _targets(groups_out, "images_per_s")
    best = _targets(groups_out, "images_per_s_best")
    for m, b in zip(med, best):
        m["value_best"] = b["value"]
        m["met_best"] = b["met"]
    return med


def _targets(groups_out, stat):
    out = []
    by = {g["name"]: g["rows"] for g in groups_out}

    def rate(rows, name):
        return _rate(rows, name, stat)

    def add(name, value, target, note):
        if value is not None:
            out.append(
                {"target": name, "value": value, "threshold": target, "met": value >= target, "note": note}
            )

    for gname, model, key in (("mlp_b100", "mlp", "mlp_vs_torch"), ("dcgan_b128", "dcgan", "dcgan_vs_torch")):
        rows = by.get(gname)
        if not rows:
            continue
        fit = rate(rows, "fit")
        raw, xla, torch_rate = rate(rows, "raw"), rate(rows, "raw[xla]"), _best_torch(rows, stat)
        eff = next(r["effective"] for r in rows if r["name"] == "fit")
        floor = xla if eff.get("jit_compile") else raw
        add(
            f"{model}: GAN.fit (package defaults) / raw step of the same maths",
            fit / floor if fit and floor else None,
            TARGETS["fit_vs_raw"],
            f"raw step {'with' if eff.get('jit_compile') else 'without'} XLA, as the defaults"
            f" resolve ({eff})",
        )
        for variant, raw_name in (("fit[nojit,spe=1]", "raw"), ("fit[jit]", "raw[xla]")):
            v = rate(rows, variant)
            add(
                f"{model}: {variant} / {raw_name}",
                v / rate(rows, raw_name) if v and rate(rows, raw_name) else None,
                TARGETS["fit_vs_raw"],
                "same XLA setting on both sides",
            )
        add(
            f"{model}: GAN.fit (package defaults) / PyTorch eager",
            fit / torch_rate if fit and torch_rate else None,
            TARGETS[key],
            "the faster PyTorch row",
        )
        best_fit = max((r for r in rows if r["kind"] == "fit"), key=lambda r: r["images_per_s"])
        add(
            f"{model}: fastest GAN.fit row by median ({best_fit['name']}) / PyTorch eager",
            best_fit[stat] / torch_rate if torch_rate else None,
            TARGETS[key],
            f"settings: {best_fit['effective']}",
        )
        pipe = rate(rows, "pipeline")
        best = max(r[stat] for r in rows if r["kind"] != "pipeline")
        add(
            f"{model}: input pipeline / fastest training row",
            pipe / best if pipe else None,
            TARGETS["pipeline_vs_training"],
            "",
        )
    return out


def print_table(groups_out, target_rows, file=sys.stdout):
    for g in groups_out:
        print(f"\n### {g['name']} (model {g['model']}, batch {g['batch']})", file=file)
        print(
            "| row | images/s (median) | best rep | spread | vs raw | vs torch | best vs torch "
            "| peak RSS MB | config |",
            file=file,
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |", file=file)
        x = lambda v: f"{v:.2f}x" if v else ""  # noqa: E731
        for r in g["rows"]:
            rss = f"{r['peak_rss_mb']:.0f}" if r.get("peak_rss_mb") else ""
            eff = ",".join(f"{k}={v}" for k, v in r["effective"].items())
            print(
                f"| {r['name']} | {r['images_per_s']:.0f} | {r['images_per_s_best']:.0f} "
                f"| {100 * r['spread']:.0f}% | {x(r.get('vs_raw'))} | {x(r.get('vs_torch'))} "
                f"| {x(r.get('best_vs_torch'))} | {rss} | {eff} |",
                file=file,
            )
    if target_rows:
        print("\n### Targets", file=file)
        print("| target | medians | best reps | threshold | met (medians / best) |", file=file)
        print("| --- | ---: | ---: | ---: | --- |", file=file)
        yes = lambda m: "yes" if m else "NO"  # noqa: E731
        for t in target_rows:
            print(
                f"| {t['target']} | {t['value']:.2f}x | {t.get('value_best', float('nan')):.2f}x "
                f"| {t['threshold']:.2f}x | {yes(t['met'])} / {yes(t.get('met_best'))} |",
                file=file,
            )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny nets, a few steps (smoke test)")
    p.add_argument("--reps", type=int, default=None, help="timed repetitions per row (default 5; quick 2)")
    p.add_argument("--threads", type=int, default=2, help="intra/inter-op threads, TF and torch")
    p.add_argument("--groups", default="", help="comma-separated group names (default: all)")
    p.add_argument("--rows", default="", help="comma-separated row names to keep (default: all)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows")
    p.add_argument("--mlp-images", type=int, default=10000, help="images per timed rep, MLP")
    p.add_argument("--dcgan-images", type=int, default=2560, help="images per timed rep, DCGAN")
    p.add_argument("--start-jobs", type=int, default=3, help="workers built/warmed up at once")
    p.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"))
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--render", metavar="JSON", help="print the table of a saved result and exit")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            result = json.load(f)
        groups_out = [dict(g, rows=group_ratios(g, g["rows"])) for g in result["groups"]]
        print_table(groups_out, targets(groups_out))
        return
    if args.worker:
        worker(json.loads(args.worker))
        return
    if args.reps is None:
        args.reps = 2 if args.quick else 5
    groups = plan(args)
    started = time.time()
    load_start = list(os.getloadavg())
    log_dir = tempfile.mkdtemp(prefix="tfgan_bench_")
    groups_out = []
    for g in groups:
        if not args.quiet:
            print(f"group {g['name']}: {[r['name'] for r in g['rows']]}", file=sys.stderr, flush=True)
        rows = group_ratios(g, run_group(g, args, log_dir))
        groups_out.append({"name": g["name"], "model": g["model"], "batch": g["batch"], "rows": rows})
        save(args, groups_out, started, load_start)  # partial results survive an interrupted run
    target_rows = save(args, groups_out, started, load_start)
    print_table(groups_out, target_rows)
    if args.json:
        print(f"\nwrote {args.json}", file=sys.stderr)


def save(args, groups_out, started, load_start):
    """Writes the JSON (all groups measured so far); returns the target rows."""
    target_rows = targets(groups_out)
    result = {
        "schema": "tfgan_orig.benchmarks/1",
        "meta": {
            "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["benchmarks/run.py"] + sys.argv[1:]),
            "host": platform.node(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "loadavg_start_end": [load_start, list(os.getloadavg())],
            "groups_done": len(groups_out),
            "python": platform.python_version(),
            "threads": args.threads,
            "reps": args.reps,
            "quick": args.quick,
            "wall_s": time.time() - started,
            "unit": "training images/s (one D and one G update per batch of real images)",
        },
        "groups": groups_out,
        "targets": target_rows,
    }
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return target_rows


if __name__ == "__main__":
    main()
