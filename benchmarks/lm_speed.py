"""Speed of RNA language-model pretraining: length-bucketed, trimmed batches against padded ones, in one run.

``rnalabel lm pretrain`` cuts every corpus piece to at most ``--max-length`` nt and, unbucketed, pads each batch to
the corpus's longest piece (130 positions for the default 128 nt). miRBase mixes 22-nt mature miRNAs with 60-120 nt
hairpins, so most of those positions are [PAD]. Bucketed (the default, ``PretrainSettings.bucket_batches``),
batches come from pools of similar length and are trimmed to their longest piece.

Each arm pretrains the default model (4 layers x 128, 4 heads) for one epoch of ``--steps`` batches of 64 on the
same corpus, in its own process, alternating arms ``--repeats`` times so that drift of the machine falls on both
alike; the median is reported. The validation masked-token accuracy and perplexity after those steps are shown
so that a reader sees the two arms train alike (they see the same sequences, in other batches).

Usage::

    python benchmarks/lm_speed.py --out benchmarks/results/lm_speed.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from rbp31 import git_commit, reproduce_footer  # noqa: E402

from rnalabel.data import write_text_atomic  # noqa: E402

ROOT = HERE.parent
DEFAULT_CORPORA = [ROOT.parent / "shared" / "data" / "mirbase" / "hairpin.fa",
                   ROOT.parent / "shared" / "data" / "mirbase" / "mature.fa"]

CHILD = r"""
import json, sys, tempfile, time, resource
from rnalabel.engine.lm_pretrain import PretrainSettings, pretrain
from rnalabel.models.rnalm import LMConfig
corpora, steps, bucket, precision = json.loads(sys.argv[1])
with tempfile.TemporaryDirectory() as d:
    t = time.perf_counter()
    lm, r = pretrain(corpora, d + "/lm", config=LMConfig(),
                     settings=PretrainSettings(epochs=1, steps_per_epoch=steps, bucket_batches=bucket,
                                               precision=precision, val_fraction=0.02),
                     progress=False, device="cpu")
    wall = time.perf_counter() - t
print(json.dumps({"bucket": bucket, "wall": wall, "tokens_per_second": r.tokens_per_second,
                  "val_accuracy": r.val_accuracy, "val_perplexity": r.val_perplexity,
                  "precision": lm.card["pretraining"]["precision"],
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", nargs="+", default=[str(p) for p in DEFAULT_CORPORA])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--out", default=str(HERE / "results" / "lm_speed.md"))
    args = ap.parse_args()
    missing = [p for p in args.corpora if not Path(p).exists()]
    if missing:
        sys.exit(f"corpus not found: {missing[0]} (give --corpora)")
    t0 = time.perf_counter()
    commit = git_commit()
    runs: dict[bool, list[dict]] = {False: [], True: []}
    for _ in range(args.repeats):
        for bucket in (False, True):
            res = subprocess.run([sys.executable, "-c", CHILD, json.dumps([args.corpora, args.steps, bucket,
                                                                           args.precision])],
                                 capture_output=True, text=True, check=True)
            row = json.loads(res.stdout.strip().splitlines()[-1])
            runs[bucket].append(row)
            print(row, flush=True)

    def med(bucket: bool, key: str) -> float:
        return float(np.median([r[key] for r in runs[bucket]]))

    load = os.getloadavg()[0]
    names = {False: "padded to the longest piece (before)", True: "length-bucketed, trimmed (after, default)"}
    lines = [
        "# RNA language-model pretraining: bucketed against padded batches", "",
        f"Default model (4 layers x 128, 4 heads, 128 nt), batch 64, one epoch of {args.steps} steps on "
        f"{', '.join(Path(p).name for p in args.corpora)}, precision {runs[True][0]['precision']}; "
        f"median of {args.repeats} runs per arm, arms alternating, each in its own process. "
        "Tokens/s = nucleotides of the training batches per second of the whole call (corpus reading, "
        "validation and writing the LM included).", "",
        "| batches | tokens/s | wall s | val. masked-token accuracy | val. perplexity | peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for b in (False, True):
        lines.append(f"| {names[b]} | {med(b, 'tokens_per_second'):,.0f} | {med(b, 'wall'):.1f} | "
                     f"{med(b, 'val_accuracy'):.3f} | {med(b, 'val_perplexity'):.3f} | {med(b, 'rss_mib'):.0f} |")
    lines += ["", f"Speed-up: {med(True, 'tokens_per_second') / med(False, 'tokens_per_second'):.2f}x.", "",
              f"Machine: {platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}; "
              f"load average {load:.1f} at the end (other work on these cores slows both arms alike).",
              *reproduce_footer(commit, t0)]
    write_text_atomic(args.out, "\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
