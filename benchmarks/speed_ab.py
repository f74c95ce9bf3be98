"""Speed of two commits of rnalabel in one run, on the same machine: training and prediction throughput, A/B.

Made for changes that must not slow anything down (the architecture v2 refactor): each commit is checked out
into its own git worktree, and the same measurement runs in a fresh Python process per commit, alternating
A, B, A, B ... so that drift of the machine (other load, thermal state) falls on both alike. Per commit the median
over ``--repeats`` runs is reported.

What one run measures, with the default recipe (Multi-resBind, precision auto) on the synthetic demo data:

* ``fit``: training rows x epochs / training wall time, ``--epochs`` epochs on ``--n-train`` sequences of 101 nt
  (the Lightning loop, batch slicing and validation each epoch included);
* ``predict 101 nt``: sequences/s of ``predict`` on ``--n-predict`` sequences of 101 nt (featurisation, windowing,
  forward, max over windows);
* ``predict scan``: nucleotides/s of ``predict`` scanning ``--n-long`` sequences of ``--long`` nt;
* ``featurise``: sequences/s of windowing + one-hot featurisation alone (the model's own path).

The three prediction measures take the fastest of three calls inside each process (the least disturbed by other
work on the machine); ``fit`` is one training run per process. Prediction is also reported per CPU-second of the
process (``time.process_time``, both threads summed), which waiting for a busy or shared CPU does not inflate.

Usage::

    python benchmarks/speed_ab.py --a bd48418 --b HEAD --out benchmarks/results/speed_ab.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# Runs inside a fresh interpreter with PYTHONPATH=<worktree>/src; works with the first release's module names
# and with today's.
CHILD = r"""
import json, sys, time
import numpy as np
import torch
torch.set_num_threads(int(sys.argv[6]))
try:
    from rnalabel.engine.training import fit
    from rnalabel.engine.predict import predict
    from rnalabel.engine.recipe import load_recipe
    from rnalabel.data.synthetic import make_demo_dataset
except ImportError:
    from rnalabel.train import fit
    from rnalabel.predict import predict
    from rnalabel.recipe import load_recipe
    from rnalabel.demo import make_demo_dataset
from rnalabel.data import Dataset

n_train, epochs, n_pred, n_long, long_len = (int(a) for a in sys.argv[1:6])
ds = make_demo_dataset(n_train, seed=1)
rec = load_recipe("multiresbind").with_train(max_epochs=epochs, patience=epochs)
model, report = fit(rec, ds, progress=False, device="cpu")
out = {"fit_sps": report.n_train * len(report.history) / report.history[-1]["seconds"],
       "precision": model.card["training"]["precision"]}
CPU = {}

def best(fn, k=3, name=None):  # the fastest of k calls: the least disturbed by other work on the machine
    times, cpu = [], []
    for _ in range(k):
        t, c = time.perf_counter(), time.process_time(); fn()
        times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    CPU[name] = min(cpu)
    return min(times)

pred = make_demo_dataset(n_pred, seed=2)
predict(model, pred.subset(np.arange(512)), progress=False, device="cpu")  # warm-up
out["predict_sps"] = n_pred / best(lambda: predict(model, pred, progress=False, device="cpu"), name="predict")
rng = np.random.default_rng(3)
long = Dataset.from_sequences([f"t{i}" for i in range(n_long)],
                              ["".join(rng.choice(list("ACGU"), size=long_len)) for _ in range(n_long)])
out["scan_ntps"] = n_long * long_len / best(lambda: predict(model, long, progress=False, device="cpu"), name="scan")
if hasattr(model, "units"):
    feat = lambda: model.featurize(model.units(pred).dataset)
else:
    from rnalabel.data import make_windows
    feat = lambda: model.featurize(make_windows(pred, model.window, model.stride).dataset)
out["featurize_sps"] = n_pred / best(feat, name="featurize")
out["predict_cpu_sps"] = n_pred / CPU["predict"]
out["scan_cpu_ntps"] = n_long * long_len / CPU["scan"]
print("RESULT " + json.dumps(out))
"""


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def run_once(src: Path, args) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONWARNINGS": "ignore"}
    argv = [sys.executable, "-c", CHILD, str(args.n_train), str(args.epochs), str(args.n_predict), str(args.n_long),
            str(args.long), str(args.threads)]
    res = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    line = [x for x in res.stdout.splitlines() if x.startswith("RESULT ")]
    if res.returncode != 0 or not line:
        raise SystemExit(f"measurement failed for {src}:\n{res.stderr[-3000:]}")
    return json.loads(line[0][7:])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", required=True, help="the commit before (git ref)")
    ap.add_argument("--b", default="HEAD", help="the commit after (git ref); HEAD means the working tree")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n-train", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--n-predict", type=int, default=20000)
    ap.add_argument("--n-long", type=int, default=200)
    ap.add_argument("--long", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default="benchmarks/results/speed_ab.md")
    args = ap.parse_args(argv)
    t_all = time.perf_counter()
    shas = {}
    with tempfile.TemporaryDirectory() as tmp:
        srcs = {}
        for tag, ref in (("A", args.a), ("B", args.b)):
            if tag == "B" and ref == "HEAD":
                srcs[tag] = ROOT / "src"
                shas[tag] = git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain") else "")
                continue
            wt = Path(tmp) / tag
            git("worktree", "add", "--detach", "-q", str(wt), ref)
            srcs[tag] = wt / "src"
            shas[tag] = git("rev-parse", "--short", ref)
        try:
            runs: dict[str, list[dict]] = {"A": [], "B": []}
            for r in range(args.repeats):
                for tag in ("A", "B"):
                    res = run_once(srcs[tag], args)
                    runs[tag].append(res)
                    print(f"  run {r + 1} {tag} ({shas[tag]}): " + ", ".join(
                        f"{k} {v:,.0f}" if isinstance(v, float) else f"{k} {v}" for k, v in res.items()), flush=True)
        finally:
            for tag in ("A", "B"):
                if srcs[tag] != ROOT / "src":
                    git("worktree", "remove", "--force", str(srcs[tag].parent))
    metrics = [("fit_sps", "fit: training seq/s"), ("predict_sps", "predict 101 nt: seq/s"),
               ("scan_ntps", f"predict scan ({args.n_long} x {args.long} nt): nt/s"),
               ("featurize_sps", "windows + one-hot: seq/s"),
               ("predict_cpu_sps", "predict 101 nt: seq per CPU-second"),
               ("scan_cpu_ntps", "predict scan: nt per CPU-second")]
    lines = [
        "# Speed before and after a change, one run (A/B)",
        "",
        f"A = `{shas['A']}`, B = `{shas['B']}`, measured alternately A, B, A, B ... in fresh processes, "
        f"{args.repeats} runs each; median (min - max) over runs (each prediction measure is the fastest of 3 calls "
        f"in its run). Default recipe (Multi-resBind, precision "
        f"{runs['B'][0]['precision']}), {args.threads} threads, synthetic demo data (101 nt). Machine: "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; load average at the start "
        f"{os.getloadavg()[0]:.2f}.",
        "",
        "| measure | A | B | B / A |",
        "|---|---|---|---|",
    ]
    for key, label in metrics:
        a = np.array([r[key] for r in runs["A"]])
        b = np.array([r[key] for r in runs["B"]])
        lines.append(f"| {label} | {np.median(a):,.0f} ({a.min():,.0f} - {a.max():,.0f}) | {np.median(b):,.0f} "
                     f"({b.min():,.0f} - {b.max():,.0f}) | {np.median(b) / np.median(a):.3f} |")
    cmd = " ".join(shlex.quote(x) for x in [Path(sys.executable).name, *sys.argv])
    lines += ["", "## Reproduce", "", "```", cmd, "```", "",
              f"Total {(time.perf_counter() - t_all) / 60:.1f} min; {time.strftime('%Y-%m-%d %H:%M')}.", ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
