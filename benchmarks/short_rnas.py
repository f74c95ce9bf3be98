"""Short RNAs: do models score them on their sequence or on their padding?

Trains the default recipe on the embedded demo data (5,000 synthetic 101-nt sequences with planted, published
motifs; ``rnalabel demo``'s data and settings) twice, without and with shortened training copies
(``short_copies``, see ``rnalabel.data.augment``), and scores

* 200 demo sequences with no label (planted site of none of the 5 RBPs) cut to 101, 80, 60, 30, 22 and 1 nt:
  mean probability and share called per label (a cut negative is still a negative: both should stay low);
* the test positives of each label cut to 60 nt: share still called (cutting loses the site in part of them);
* three human miRNAs (miRBase: hsa-miR-21-5p, hsa-let-7d-5p, hsa-miR-451a), which no demo RBP's site is in;
* the test split at full length: macro AUROC / AP (the copies must not cost accuracy).

Usage::

    python benchmarks/short_rnas.py --out benchmarks/results/short_rnas.md
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rbp31 import git_commit, reproduce_footer  # noqa: E402

from rnalabel import Dataset, fit, load_recipe, predict  # noqa: E402
from rnalabel.data import write_text_atomic  # noqa: E402
from rnalabel.data.synthetic import make_demo_dataset  # noqa: E402

MIRNAS = {"hsa-miR-21-5p": "UAGCUUAUCAGACUGAUGUUGA", "hsa-let-7d-5p": "AGAGGUAGUAGGUUGCAUAGUU",
          "hsa-miR-451a": "AAACCGUUACCAUUACUGAGUU"}
LENGTHS = (101, 80, 60, 30, 22, 1)


def cut(ds: Dataset, length: int) -> Dataset:
    return Dataset.from_sequences(ds.ids, [s[:length] for s in ds.sequences])


def measure(fraction: float, ds: Dataset, epochs: int) -> dict:
    t = time.perf_counter()
    model, rep = fit(load_recipe("multiresbind").with_train(short_copies=fraction, max_epochs=epochs, seed=0), ds,
                     progress=False)
    out = {"fraction": fraction, "auroc": rep.test.averages["auroc_macro"], "ap": rep.test.averages["ap_macro"],
           "epochs": len(rep.history), "seconds": time.perf_counter() - t, "labels": model.label_names}
    neg = ds.subset(np.flatnonzero((ds.labels == 0).all(axis=1))[:200])
    test = ds.select_split("test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in LENGTHS:
            p = predict(model, cut(neg, n), progress=False)
            out[f"neg{n}"] = (p.scores.mean(axis=0), p.calls.mean(axis=0))
        rec = []
        for j in range(len(model.label_names)):
            pos = test.subset(np.flatnonzero(test.labels[:, j] == 1))
            rec.append((predict(model, pos, progress=False).calls[:, j].mean(),
                        predict(model, cut(pos, 60), progress=False).calls[:, j].mean()))
        out["recall"] = rec
        mir = Dataset.from_sequences(list(MIRNAS), list(MIRNAS.values()))
        out["mirna"] = predict(model, mir, progress=False).scores
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="benchmarks/results/short_rnas.md")
    ap.add_argument("--fraction", type=float, default=0.25, help="short_copies of the second model")
    ap.add_argument("--epochs", type=int, default=12, help="epoch cap, as rnalabel demo")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    commit = git_commit()
    ds = make_demo_dataset(5000, seed=0)
    runs = [measure(f, ds, args.epochs) for f in (0.0, args.fraction)]
    names = runs[0]["labels"]
    lines = ["# Short RNAs: scored on their sequence or on their padding?", "",
             "Default recipe (Multi-resBind, bf16 where native) on the demo data (5,000 synthetic 101-nt sequences, "
             f"planted published motifs, 70/10/20 split, epoch cap {args.epochs}), trained without and with "
             "shortened training copies (`short_copies`). Probabilities are per label "
             f"({', '.join(names)}).", "",
             "| | no copies | short_copies " + f"{args.fraction} |", "|---|---|---|",
             *(f"| test macro {k.upper()} (full length) | {runs[0][k]:.4f} | {runs[1][k]:.4f} |" for k in ("auroc", "ap")),
             f"| epochs / training seconds | {runs[0]['epochs']} / {runs[0]['seconds']:.0f} | "
             f"{runs[1]['epochs']} / {runs[1]['seconds']:.0f} |", "",
             "## 200 unbound demo sequences cut to shorter lengths: mean probability (share called) per label", "",
             "| length (nt) | no copies | short_copies |", "|---|---|---|"]
    for n in LENGTHS:
        cells = []
        for r in runs:
            m, c = r[f"neg{n}"]
            cells.append(" ".join(f"{a:.3f} ({100 * b:.0f}%)" for a, b in zip(m, c, strict=True)))
        lines.append(f"| {n} | {cells[0]} | {cells[1]} |")
    lines += ["", "## Test positives: share called at full length and cut to 60 nt", "",
              "| label | no copies: 101 nt | 60 nt | short_copies: 101 nt | 60 nt |", "|---|---|---|---|---|"]
    for j, name in enumerate(names):
        a, b = runs[0]["recall"][j], runs[1]["recall"][j]
        lines.append(f"| {name} | {a[0]:.3f} | {a[1]:.3f} | {b[0]:.3f} | {b[1]:.3f} |")
    lines += ["", "## Human miRNAs (no demo RBP's site in them): probabilities per label", "",
              "| miRNA | no copies | short_copies |", "|---|---|---|"]
    for i, name in enumerate(MIRNAS):
        lines.append(f"| {name} | {' '.join(f'{v:.3f}' for v in runs[0]['mirna'][i])} | "
                     f"{' '.join(f'{v:.3f}' for v in runs[1]['mirna'][i])} |")
    lines += reproduce_footer(commit, t0)
    write_text_atomic(args.out, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
