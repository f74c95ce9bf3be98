"""Training beyond memory: one epoch on a generated table of N rows, streamed from Parquet against read into
memory (throughput, peak resident memory, test AUROC).

The table is the demo generator's (101-nt RNAs with planted published motifs, 5 labels): 500,000 distinct rows
(split 70/10/20 per chunk of 250,000), written again with new ids until N rows (each copy keeps its row's split,
so no test row is ever trained on), once into ``--work`` in row groups of 65,536 rows. Each arm is ``rnalabel train`` in its
own process; peak RSS is the child's ru_maxrss; throughput is the card's training sequences per second (the
optimisation alone) and the wall time of the whole command (reading, featurising, training, evaluating). The
model is a small Multi-resBind (16 filters, fp32) so that an epoch of millions of rows fits a
benchmark run on a laptop-class CPU; the memory question does not depend on the model's size.

Usage::

    python benchmarks/scale.py --rows 5000000 --out benchmarks/results/scale.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rbp31 import git_commit, write_result  # noqa: E402

BIN = Path(sys.executable).parent / "rnalabel"
RECIPE = """name: scale-small
model: multiresbind
params: {{filters: 16, hidden: 32}}
views: {{seq: {{type: onehot, pad_value: 0.25}}}}
train: {{batch_size: 256, max_epochs: 1, patience: 1, seed: 0, short_copies: 0.25, num_workers: {workers}}}
"""


def make_table(path: Path, rows: int, unique: int = 500_000, chunk: int = 250_000) -> None:
    """``rows`` rows: ``unique`` demo rows (generated in chunks, each split 70/10/20) written again and again with
    new ids until ``rows`` are written; every copy of a row keeps its split, so no test row is trained on."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from rnalabel.data.dataset import ROW_GROUP_ROWS
    from rnalabel.data.synthetic import make_demo_dataset

    tmp = path.with_suffix(".part.parquet")
    parts = []
    t0 = time.perf_counter()
    for k, start in enumerate(range(0, min(rows, unique), chunk)):
        ds = make_demo_dataset(min(chunk, unique - start, rows - start), seed=1000 + k)
        ds.ids = np.asarray([f"c{k}_{i}" for i in ds.ids], dtype=object)
        one = path.with_suffix(f".c{k}.parquet")
        ds.to_parquet(one)
        parts.append(pq.read_table(one))
        one.unlink()
        print(f"  unique rows: {start + len(ds):,} ({time.perf_counter() - t0:.0f} s)", flush=True)
    base = pa.concat_tables(parts)
    writer = pq.ParquetWriter(tmp, base.schema)
    written, copy = 0, 0
    while written < rows:
        t = base.slice(0, min(len(base), rows - written))
        ids = pa.array([f"{i}_r{copy}" for i in t.column("id").to_pylist()], pa.string())
        writer.write_table(t.set_column(t.schema.get_field_index("id"), "id", ids), row_group_size=ROW_GROUP_ROWS)
        written += len(t)
        copy += 1
        print(f"  table: {written:,} rows ({time.perf_counter() - t0:.0f} s)", flush=True)
    writer.close()
    os.replace(tmp, path)


def run_arm(name: str, cmd: list[str], out: Path) -> dict:
    t = time.perf_counter()
    err = out.parent / f"{name}.stderr"
    with err.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=fh)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (its peak, or its largest descendant's)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed: {err.read_text()[-3000:]}")
    peak = usage.ru_maxrss
    card = json.loads((out / "card.json").read_text())
    tr = card["training"]
    res = {"arm": name, "wall_s": wall, "peak_rss_mb": peak / 1024,
           "train_s": tr["train_seconds"], "seq_per_s": None,
           "auroc": card["metrics"]["test"]["averages"]["auroc_macro"], "n_train": card["provenance"]["n_train"],
           "short_copies": tr["short_copies"]}
    res["seq_per_s"] = (res["n_train"] + res["short_copies"]) / max(res["train_s"], 1e-9)
    print(f"{name}: wall {wall:.0f} s, train {res['train_s']:.0f} s ({res['seq_per_s']:,.0f} rows/s), peak RSS "
          f"{res['peak_rss_mb']:,.0f} MiB, test AUROC {res['auroc']:.3f}", flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--work", type=Path, default=Path("runs/bench_scale"))
    ap.add_argument("--arms", default="memory,stream,stream-1-worker")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/scale.md"))
    args = ap.parse_args()
    t0, commit = time.perf_counter(), git_commit()
    args.work.mkdir(parents=True, exist_ok=True)
    table = args.work / f"demo_{args.rows}.parquet"
    if not table.exists():
        print(f"writing {table} ...", flush=True)
        make_table(table, args.rows)
    size_mb = table.stat().st_size / 2**20
    for w in (0, 1):
        (args.work / f"recipe_w{w}.yaml").write_text(RECIPE.format(workers=w))
    arms = {
        "memory": ([], 0),
        "stream": (["--stream"], 0),
        "stream-1-worker": (["--stream"], 1),
    }
    results = []
    for name in args.arms.split(","):
        extra, w = arms[name]
        out = args.work / f"run_{name}"
        cmd = [str(BIN), "train", str(table), "--recipe", str(args.work / f"recipe_w{w}.yaml"), "--out", str(out),
               "--overwrite", "--no-progress", "--checkpoint-every", "0", *extra]
        results.append(run_arm(name, cmd, out))

    lines = ["# Training beyond memory", "",
             f"One epoch of a small Multi-resBind (16 filters, batch 256, shortened copies 0.25) on a generated table "
             f"of {args.rows:,} demo rows (101 nt, 5 labels; 500,000 distinct rows repeated with new ids, each copy in "
             f"its row's split; Parquet {size_mb:,.0f} MiB on disk, row groups of 65,536), on this machine ({os.cpu_count()} cores). Each arm is one `rnalabel train` process; "
             "peak RSS is its maximum resident memory (the largest of its processes: `wait4`); rows/s counts training rows and their shortened copies "
             "over the optimisation time in the card; wall is the whole command (read, split, featurise, train, "
             "pick thresholds, score the test split, write the run folder).", "",
             "| arm | peak RSS MiB | training rows/s | train s | wall s | test macro AUROC |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['arm']} | {r['peak_rss_mb']:,.0f} | {r['seq_per_s']:,.0f} | {r['train_s']:,.0f} | "
                     f"{r['wall_s']:,.0f} | {r['auroc']:.3f} |")
    lines += ["", "Arms: `memory` reads the table and featurises every row before training (the default); "
              "`stream` is `--stream` (row groups read, featurised and shuffled in a 65,536-row buffer in the "
              "training process); `stream-1-worker` adds one DataLoader worker process (`num_workers: 1`) that "
              "reads and featurises while the main process trains.", ""]
    write_result(args.out, lines, commit, t0)


if __name__ == "__main__":
    main()
