"""eCLIP multi-label: Multi-resBind vs the DeepRiPe-style baseline, sequence only and sequence + structure.

The 91 ENCODE eCLIP experiments are joined by exact sequence into one sequence x RBP matrix with a ``negative``
label (``rnalabel.io.benchmark_sets.build_eclip_multilabel``) and split 70/10/20 by iterative stratification (seeded).

* Sequence-only arms train on the whole training split.
* Sequence + structure arms need a ViennaRNA profile per sequence (about 130 sequences/s cold on 2 cores, cached
  by content): they run on a seeded subset of every split (``--structure-subset`` rows in all), and the same
  subset is also trained sequence-only so that the structure effect is measured like for like.

This mirrors the Multi-resBind vs DeepRiPe comparison of the Multi-resBind paper on other data (ENCODE eCLIP,
not its PAR-CLIP set), so the report compares the *gap* between the two architectures, not absolute values.

Usage::

    python benchmarks/eclip_multilabel.py --data ../shared/data/eclip --out benchmarks/results/eclip_multilabel.md
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rbp31 import _cpu, git_commit, plot_learning_curves, precision_used, trained_seconds  # noqa: E402

#: Multi-resBind paper (and notebooks), PAR-CLIP 59 RBPs: mean AUROC / AP per group on its 10 % test split
PUBLISHED_GAP = {
    "low (27 RBPs)": ((0.875, 0.331), (0.898, 0.381)),
    "med (21 RBPs)": ((0.878, 0.452), (0.889, 0.483)),
    "high (11 RBPs)": ((0.831, 0.427), (0.842, 0.449)),
}

METRICS = ["auroc_macro", "auroc_micro", "auroc_weighted", "ap_macro", "ap_micro", "ap_weighted",
           "f1_macro", "f1_micro", "exact_match", "hamming_loss", "one_error", "jaccard"]


def subset_rows(ds, n: int, seed: int) -> np.ndarray:
    """A seeded subset of about ``n`` rows taking the same fraction of each split."""
    rng = np.random.default_rng(seed)
    frac = min(1.0, n / len(ds))
    keep = []
    for part in ("train", "val", "test"):
        idx = np.flatnonzero(ds.split == part)
        keep.append(np.sort(rng.choice(idx, size=int(round(frac * len(idx))), replace=False)))
    return np.concatenate(keep)


def run_arm(name: str, recipe_name: str, ds, args, work: Path) -> dict:
    from rnalabel.engine.recipe import load_recipe
    from rnalabel.engine.training import fit

    path = work / f"{name}.json"
    if path.exists() and not args.rerun:
        return json.loads(path.read_text())
    cap = args.max_epochs_sub if name.endswith("_sub") else args.max_epochs
    over = {"max_epochs": cap} if cap else {}
    if args.patience:
        over["patience"] = args.patience
    if args.lr_factor:
        over.update(lr_factor=args.lr_factor, lr_patience=args.lr_patience)
    if args.monitor:
        over["monitor"] = args.monitor
    rec = load_recipe(recipe_name).with_train(precision=args.precision, seed=args.seed, **over)
    t0 = time.perf_counter()
    # training state is checkpointed so that a killed run (a convergence run spans sessions) resumes
    state = work / f"{name}_state"
    resumed = (state / "resume.json").exists() and not args.rerun
    model, report = fit(rec, ds, progress=False, device=args.device, checkpoint=state, resume=resumed)
    wall = (trained_seconds(report.history) + report.timings["featurize_s"]) if resumed else time.perf_counter() - t0
    res = {
        "arm": name, "recipe": recipe_name, "n_train": report.n_train, "n_val": report.n_val,
        "n_test": report.n_test, "max_epochs": rec.train.max_epochs,
        "patience": rec.train.patience, "epochs": len(report.history), "best_epoch": report.best_epoch,
        "wall_seconds": wall, "resumed": resumed, "featurize_seconds": report.timings["featurize_s"],
        "train_seconds": report.train_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_mb_per_epoch": [h.get("rss_mb") for h in report.history],
        "history": [{k: h[k] for k in ("epoch", "train_loss", "val_loss", "val_auroc", "lr", "seconds") if k in h}
                    for h in report.history],
        "test": report.test.to_dict(), "val_averages": report.val.to_dict()["averages"],
    }
    path.write_text(json.dumps(res, indent=1))
    a = res["test"]["averages"]
    print(f"[{name}] test macro AUROC {a['auroc_macro']:.4f}, macro AP {a['ap_macro']:.4f}, "
          f"{res['epochs']} epochs, {res['wall_seconds'] / 60:.1f} min", flush=True)
    return res


def _count_range(label_counts: dict) -> str:
    c = np.array([v for k, v in label_counts.items() if k != "negative"])
    if not len(c):
        return "no label counts"
    return (f"training positives per RBP label range from {c.min():,} to {c.max():,} "
            f"(median {int(np.median(c)):,})")


def _caps(args) -> str:
    full = args.max_epochs or "the recipe's"
    sub = args.max_epochs_sub or "the recipe's"
    pat = f"; early-stopping patience {args.patience} epochs" if args.patience else "; recipe's patience"
    better = "a higher validation macro AUROC" if args.monitor == "val_auroc" else "a lower validation loss"
    lr = (f"; learning rate x {args.lr_factor} after {args.lr_patience} epochs without {better}"
          if args.lr_factor else "; the recipe's learning rate (constant)")
    mon = ("; early stopping and the restored best weights follow validation macro AUROC"
           if args.monitor == "val_auroc" else "")
    return f"full-data arms {full}, subset arms {sub}{pat}{lr}{mon}"


def fmt(v) -> str:
    return "NaN" if v is None else f"{v:.3f}"


def report_text(results: dict[str, dict], label_counts: dict, args, prov: dict, total_s: float,
                png: Path | None = None) -> str:
    arms = list(results)
    curves = (f"Learning curves (validation loss and macro AUROC per epoch; arms trained before the history was "
              f"kept are missing): [{png.name}]({png.name}).\n\n") if png is not None else ""
    lines = ["| metric | " + " | ".join(arms) + " |", "|---|" + "---|" * len(arms)]
    for m in METRICS:
        lines.append(f"| {m} | " + " | ".join(fmt(results[a]["test"]["averages"].get(m)) for a in arms) + " |")
    lines.append("| epochs (best) | " + " | ".join(f"{results[a]['epochs']} ({results[a]['best_epoch']})"
                                                   for a in arms) + " |")
    lines.append("| epoch cap (reached?) | " + " | ".join(
        f"{results[a]['max_epochs']} ({'yes' if results[a]['epochs'] >= results[a]['max_epochs'] else 'no'})"
        for a in arms) + " |")
    lines.append("| training rows | " + " | ".join(f"{results[a]['n_train']:,}" for a in arms) + " |")
    lines.append("| wall time (min) | " + " | ".join(f"{results[a]['wall_seconds'] / 60:.1f}" for a in arms) + " |")
    lines.append("| peak RSS (MiB) | " + " | ".join(f"{results[a]['peak_rss_mb']:.0f}" for a in arms) + " |")
    summary = "\n".join(lines)

    def gap(a: str, b: str) -> str:
        if a not in results or b not in results:
            return "n/a"
        x, y = results[a]["test"]["averages"], results[b]["test"]["averages"]
        return f"AUROC {x['auroc_macro'] - y['auroc_macro']:+.3f}, AP {x['ap_macro'] - y['ap_macro']:+.3f}"

    pub = "\n".join(f"| {g} | {d[0]:.3f} / {d[1]:.3f} | {m[0]:.3f} / {m[1]:.3f} | "
                    f"{m[0] - d[0]:+.3f} / {m[1] - d[1]:+.3f} |" for g, (d, m) in PUBLISHED_GAP.items())

    # per-label table for the main comparison
    main_a, main_b = "multiresbind_seq", "deepripe_seq"
    per = []
    if main_a in results and main_b in results:
        pa, pb = results[main_a]["test"]["per_label"], results[main_b]["test"]["per_label"]
        for name in sorted(pa, key=lambda n: -label_counts.get(n, 0)):
            per.append(f"| {name} | {label_counts.get(name, 0):,} | {fmt(pa[name]['auroc'])} | {fmt(pa[name]['ap'])} | "
                       f"{fmt(pb[name]['auroc'])} | {fmt(pb[name]['ap'])} |")
        wins = sum((pa[n]["auroc"] or 0) > (pb[n]["auroc"] or 0) for n in pa)
        ap_corr = _imbalance(pa, label_counts)
    else:
        wins, ap_corr = 0, float("nan")
    cmd = " ".join(shlex.quote(x) for x in [Path(sys.executable).name, *sys.argv])
    return f"""# eCLIP multi-label: Multi-resBind vs DeepRiPe, sequence and sequence + structure

Data: the 91 ENCODE eCLIP experiments of `../shared/data/eclip` joined by exact sequence
(`build_eclip_multilabel`, seed {args.seed}): {prov.get('rows', 'n/a')} sequences x 92 labels (91 RBPs +
`negative`, {prov.get('n_negative', 'n/a')} sampled unbound sequences), split 70/10/20 by iterative stratification
(seed {args.seed}). Metrics on the test split; thresholds for F1 / exact match / Hamming loss chosen per label on
validation data. Sequence + structure arms (and their sequence-only twins, suffix `_sub`) use a seeded subset of
{args.structure_subset:,} rows taken evenly from each split, because folding every sequence with ViennaRNA
(about 130/s cold on 2 cores) would take longer than the training itself; structure = RNAplfold-style
paired/unpaired profile (W = L = 150, u = 1), cached by content. Precision {precision_used(args)}. Epoch cap (early stopping on validation loss may end sooner):
{_caps(args)}.

## Test metrics

{summary}

{curves}## The gap between the architectures

Multi-resBind minus DeepRiPe, macro over labels: full data, sequence only: {gap('multiresbind_seq', 'deepripe_seq')};
subset, sequence only: {gap('multiresbind_seq_sub', 'deepripe_seq_sub')}; subset, sequence + structure:
{gap('multiresbind_struct_sub', 'deepripe_struct_sub')}. Structure minus sequence only (subset): Multi-resBind
{gap('multiresbind_struct_sub', 'multiresbind_seq_sub')}; DeepRiPe {gap('deepripe_struct_sub', 'deepripe_seq_sub')}.
Multi-resBind has the higher AUROC on {wins} of 92 labels (full data, sequence only).

Published on PAR-CLIP (different data; mean over RBPs, 10 % test split), DeepRiPe vs Multi-resBind, AUROC / AP:

| group | DeepRiPe | Multi-resBind | gap |
|---|---|---|---|
{pub}

## Label imbalance

Per-label AP against the label's number of positives (Multi-resBind, full data, sequence only): Spearman
correlation {ap_corr:.2f}. The Multi-resBind paper reports AP rising with label size on PAR-CLIP, where labels
range over orders of magnitude; here {_count_range(label_counts)}, so there is little size range for AP to follow.

| label | positives | Multi-resBind AUROC | Multi-resBind AP | DeepRiPe AUROC | DeepRiPe AP |
|---|---|---|---|---|---|
{chr(10).join(per)}

## Reproduce

```
{cmd}
```

Git commit `{git_commit()}`; Python {platform.python_version()}; {_cpu()}; wall time of this invocation {total_s / 60:.1f} min (arms cached in `--work` are reused; each arm's own wall time is in the table);
{time.strftime('%Y-%m-%d %H:%M')}. Per-arm JSON in `{args.work}` (not committed).
"""


def _imbalance(per: dict, counts: dict) -> float:
    from scipy.stats import spearmanr

    names = [n for n in per if per[n]["ap"] is not None]
    return float(spearmanr([counts.get(n, 0) for n in names], [per[n]["ap"] for n in names]).statistic)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="eclip folder (holding eCLIP_Data/)")
    ap.add_argument("--out", default="benchmarks/results/eclip_multilabel.md")
    ap.add_argument("--work", default="runs/bench_eclip")
    ap.add_argument("--arms", default="multiresbind_seq,deepripe_seq,multiresbind_seq_sub,deepripe_seq_sub,"
                                      "multiresbind_struct_sub,deepripe_struct_sub")
    ap.add_argument("--recipe-multiresbind", default="multiresbind")
    ap.add_argument("--recipe-multiresbind-structure", default="multiresbind_structure")
    ap.add_argument("--recipe-deepripe", default="deepripe")
    ap.add_argument("--recipe-deepripe-structure", default="deepripe_structure")
    ap.add_argument("--structure-subset", type=int, default=60000)
    ap.add_argument("--precision", default="auto",
                    help="auto (default): bf16-mixed where the CPU/GPU has native bf16, else 32")
    ap.add_argument("--max-epochs", type=int, default=None, help="epoch cap of the full-data arms (default: recipe)")
    ap.add_argument("--max-epochs-sub", type=int, default=None,
                    help="epoch cap of the subset arms (suffix _sub; default: recipe)")
    ap.add_argument("--patience", type=int, default=None,
                    help="early-stopping patience in epochs of every arm (default: recipe)")
    ap.add_argument("--lr-factor", type=float, default=None,
                    help="multiply the learning rate by this on a validation-loss plateau (default: constant)")
    ap.add_argument("--lr-patience", type=int, default=2, help="epochs of plateau before --lr-factor applies")
    ap.add_argument("--monitor", choices=("val_loss", "val_auroc"), default=None,
                    help="what early stopping, best weights and --lr-factor follow (default: the recipe's, val_loss)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None)
    ap.add_argument("--rerun", action="store_true")
    args = ap.parse_args(argv)

    from rnalabel.data import split_iterative, write_text_atomic
    from rnalabel.io.benchmark_sets import build_eclip_multilabel

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ds = split_iterative(build_eclip_multilabel(args.data, seed=args.seed), (0.7, 0.1, 0.2), seed=args.seed)
    print(f"dataset {len(ds):,} x {ds.n_labels} built and split in {time.perf_counter() - t0:.0f} s", flush=True)
    sub = ds.subset(subset_rows(ds, args.structure_subset, args.seed))
    recipes = {
        "multiresbind_seq": (args.recipe_multiresbind, ds),
        "deepripe_seq": (args.recipe_deepripe, ds),
        "multiresbind_seq_sub": (args.recipe_multiresbind, sub),
        "deepripe_seq_sub": (args.recipe_deepripe, sub),
        "multiresbind_struct_sub": (args.recipe_multiresbind_structure, sub),
        "deepripe_struct_sub": (args.recipe_deepripe_structure, sub),
    }
    results = {}
    for arm in [a.strip() for a in args.arms.split(",") if a.strip()]:
        if arm not in recipes:
            ap.error(f"unknown arm {arm!r}; choose from {list(recipes)}")
        rec, data = recipes[arm]
        results[arm] = run_arm(arm, rec, data, args, work)
    counts = {n: c["positive"] for n, c in ds.select_split("train").label_counts().items()}
    prov = {"rows": f"{len(ds):,}", "n_negative": f"{int(np.nansum(ds.labels[:, ds.label_index('negative')])):,}"}
    png = plot_learning_curves({a: [(r["history"], r["best_epoch"])] for a, r in results.items() if r.get("history")},
                               Path(args.out).with_name(Path(args.out).stem + "_curves.png"))
    write_text_atomic(args.out, report_text(results, counts, args, prov, time.perf_counter() - t0, png))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
