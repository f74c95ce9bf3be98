"""The model zoo: per zoo model, how it was built (from its card) and what it costs a user to load and predict.

For each model in ``rnalabel.zoo``: the command that built it, the data, epochs, wall time, test (or validation)
metrics, size on disk, and the time a cold process takes to import rnalabel, load the model and predict 1,000
random 101-nt RNAs (22-nt for whole-sequence miRNA models), median of ``--repeats`` fresh processes.

Usage::

    python benchmarks/zoo.py --out benchmarks/results/zoo.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rbp31 import git_commit, reproduce_footer  # noqa: E402

COLD = """
import time, sys
t0 = time.perf_counter()
import numpy as np
from rnalabel import load_model, predict
from rnalabel.data import Dataset
m = load_model(sys.argv[1])
t1 = time.perf_counter()
n, L = 1000, (22 if m.kind == "whole-sequence" else 101)
rng = np.random.default_rng(0)
seqs = ["".join(rng.choice(list("ACGU"), size=L)) for _ in range(n)]
p = predict(m, Dataset.from_sequences([f"r{i}" for i in range(n)], seqs), progress=False, device="cpu")
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
"""


def fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    from rnalabel import zoo

    rows, details = [], []
    for name in zoo.names():
        d = zoo.describe(name)
        card = json.loads((zoo.ZOO_DIR / name / "card.json").read_text())
        z = card["zoo"]
        times = []
        for _ in range(args.repeats):
            out = subprocess.run([sys.executable, "-c", COLD, name], capture_output=True, text=True, check=True)
            times.append([float(x) for x in out.stdout.split()])
        load = statistics.median(t[0] for t in times)
        pred = statistics.median(t[1] for t in times)
        split = "test" if d["test_auroc_macro"] is not None else "val"
        auroc = d["test_auroc_macro"] if split == "test" else d["val_auroc_macro"]
        ap_ = d["test_ap_macro"] if split == "test" else (card["metrics"]["val"]["averages"].get("ap_macro"))
        ep = z["epochs"]
        rows.append(f"| {name} | {d['model']} | {len(d['labels'])} | {split}: {fmt(auroc)} / {fmt(ap_)} | "
                    f"{ep['best']} of {ep['run']} ({ep['ended_by']}) | {z['wall_seconds'] / 60:.1f} | "
                    f"{d['size_bytes'] / 1e6:.1f} | {load:.2f} + {pred:.2f} | {z['commit']} |")
        calls = z["calls"]
        prec = [v["precision"] for v in calls.values() if v["precision"] is not None]
        fcr = [v.get("false_call_rate_unbound") for v in calls.values() if v.get("false_call_rate_unbound") is not None]
        details.append(f"- **{name}**: `{z['command']}`" + (f" with `{'`, `'.join(z['settings'])}`" if z["settings"] else "")
                       + f". {z['data'].rstrip('.')}. Licence: {z['licence']}. Calls on the {z['calls_on']} rows at the stored "
                       f"thresholds: median precision {statistics.median(prec):.3f} over {len(prec)} labels"
                       + (f"; median share of unbound rows called {statistics.median(fcr):.4f}" if fcr else "") + ".")
    lines = [
        "# The model zoo",
        "",
        "Each zoo model as its card records it (built by the command shown, on the public data in `../shared/data`), "
        "its size, and the cost to a user: a cold process importing rnalabel and loading the model, then predicting "
        f"1,000 random RNAs (101 nt; 22 nt for the miRNA model), median of {args.repeats} processes, CPU.",
        "",
        "| model | architecture | labels | macro AUROC / AP | epochs (best of run) | build wall time (min) | "
        "size (MB) | cold load + predict 1,000 (s) | commit |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *details,
        "",
        *reproduce_footer(git_commit(), t0),
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
