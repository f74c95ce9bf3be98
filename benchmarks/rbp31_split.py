"""RBP-31 rows where only DeepMiRBP scores high: is it the split, and where is the signal?

DeepMiRBP reports test AUCs far above every other system on three RBP-31 experiments (2 Ago2-MNase 0.898,
9 ELAVL1-MNase 0.811, 15 IGF2BP1-3 0.967; the others 0.49-0.72), and its paper re-packed RBP-31 with the
training and test parts merged. For each chosen experiment this script

* measures how the published parts relate: test windows that overlap a training window (same chromosome and
  strand) in the published split and in a random split of the merged parts;
* trains the same model (recipe ``rbp31_single``, seeded) on three splits of the same 40,000 windows, each with
  the published test size: ``published`` (training_sample_0 / test_sample_0), ``random`` (the merged parts split
  at random, stratified by class) and ``grouped`` (random too, but windows that overlap each other kept on one
  side: StratifiedGroupKFold over clusters of overlapping windows). If ``random`` is far above ``published`` and
  ``grouped`` falls back, the high published values come from overlapping windows on both sides of the split;
* a composition baseline (logistic regression on 1-3-mer frequencies of the whole window, of the central 51 nt
  and of the two 25-nt flanks) on the published split: how much of the signal is composition, and where;
* occlusion on the published-split model: test AUC with the central 51 nt, or the two 25-nt flanks, set to N.

Usage::

    python benchmarks/rbp31_split.py --data ../shared/data/rbp31 --out benchmarks/results/rbp31_split.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rbp31 import PUBLISHED, git_commit, number, peak_rss_mb, write_result  # noqa: E402

SPLITS = ("published", "random", "grouped")
CENTRE, FLANK = 51, 25


def coordinates(ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chromosome+strand key, start, end) of each window from ids ``<label>:<part>:<i>:<chr,strand,start,end>``."""
    keys, starts, ends = [], [], []
    for i in ids:
        c, s, a, b = str(i).rsplit(":", 1)[1].split(",")
        keys.append(f"{c}{s}")
        starts.append(int(a))
        ends.append(int(b))
    return np.asarray(keys), np.asarray(starts), np.asarray(ends)


def clusters(keys: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Group id per window: windows that overlap (transitively, same chromosome and strand) share one."""
    order = np.lexsort((starts, keys))
    group = np.empty(len(keys), dtype=np.int64)
    g, key, reach = -1, None, -1
    for i in order:
        if keys[i] != key or starts[i] > reach:
            g, key, reach = g + 1, keys[i], ends[i]
        else:
            reach = max(reach, ends[i])
        group[i] = g
    return group


def overlapping(test: np.ndarray, train: np.ndarray, keys, starts, ends, y, same_class: bool) -> float:
    """Share of the ``test`` windows that overlap a ``train`` window (of the same class when ``same_class``)."""
    cls = y if same_class else np.zeros_like(y)
    index: dict[tuple, np.ndarray] = {}  # (chromosome+strand, class) -> (start, end) rows sorted by start
    for k, c in {(keys[i], cls[i]) for i in train}:
        sel = train[(keys[train] == k) & (cls[train] == c)]
        index[(k, c)] = np.stack([starts[sel], ends[sel]], 1)[np.argsort(starts[sel])]
    hits = 0
    for i in test:
        a = index.get((keys[i], cls[i]))
        if a is None:
            continue
        j = np.searchsorted(a[:, 0], ends[i], side="right")  # windows starting at or before this one's end
        hits += bool(j > 0 and (a[max(0, j - 64):j, 1] >= starts[i]).any())
    return hits / max(len(test), 1)


def make_split(kind: str, ds, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split

    published = np.asarray(ds.split, dtype=object)
    if kind == "published":
        return published
    y = ds.labels[:, 0].astype(int)
    n_test = int((published == "test").sum())
    idx = np.arange(len(ds))
    if kind == "random":
        _, test = train_test_split(idx, test_size=n_test, stratify=y, random_state=seed)
    else:
        groups = clusters(*coordinates(ds.ids))
        folds = StratifiedGroupKFold(n_splits=round(len(ds) / n_test), shuffle=True, random_state=seed)
        test = next(iter(folds.split(idx, y, groups)))[1]
    split = np.full(len(ds), "train", dtype=object)
    split[test] = "test"
    return split


def kmer_features(seqs: list[str], lo: int, hi: int) -> np.ndarray:
    from itertools import product

    vocab = {"".join(p): i for k in (1, 2, 3) for i, p in enumerate(product("ACGU", repeat=k))}
    offs = {1: 0, 2: 4, 3: 20}
    x = np.zeros((len(seqs), 84), dtype=np.float32)
    for r, s in enumerate(seqs):
        s = s[lo:hi]
        for k in (1, 2, 3):
            n = max(len(s) - k + 1, 1)
            for j in range(len(s) - k + 1):
                i = vocab.get(s[j:j + k])
                if i is not None:
                    x[r, offs[k] + i] += 1.0 / n
    return x


def kmer_auc(ds, split: np.ndarray, lo: int, hi: int) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    seqs = [s.replace("T", "U") for s in ds.sequences]
    x = kmer_features(seqs, lo, hi)
    y = ds.labels[:, 0].astype(int)
    tr, te = split == "train", split == "test"
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x[tr], y[tr])
    return float(roc_auc_score(y[te], clf.predict_proba(x[te])[:, 1]))


def occlusion(model, ds, split: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    from rnalabel import Dataset, predict

    te = np.flatnonzero(split == "test")
    seqs_all = ds.sequences
    seqs = [seqs_all[i] for i in te]
    y = ds.labels[te, 0]
    out = {}
    for name, mask in (("whole", lambda s: s),
                       ("centre N", lambda s: s[:FLANK] + "N" * (len(s) - 2 * FLANK) + s[len(s) - FLANK:]),
                       ("flanks N", lambda s: "N" * FLANK + s[FLANK:len(s) - FLANK] + "N" * FLANK)):
        d = Dataset.from_sequences([str(i) for i in ds.ids[te]], [mask(s) for s in seqs])
        p = predict(model, d, progress=False)
        out[name] = float(roc_auc_score(y, p.scores[:, 0]))
    return out


def composition(ds) -> dict[str, list]:
    """Per-position base frequencies (4 x length) of the positives and of the negatives."""
    tok = ds.tokens[:, : int(ds.lengths.max())]
    y = ds.labels[:, 0] == 1
    return {name: [(tok[sel] == b).mean(0).round(5).tolist() for b in range(4)]
            for name, sel in (("positive", y), ("negative", ~y))}


def plot_composition(results: dict[str, dict], out_png: Path) -> Path | None:
    """log2(positive / negative frequency) of each base along the window, one panel per experiment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    have = {f: r["composition"] for f, r in results.items() if "composition" in r}
    if not have:
        return None
    fig, axes = plt.subplots(1, len(have), figsize=(4.4 * len(have), 3.2), squeeze=False, sharey=True)
    for ax, (folder, c) in zip(axes[0], have.items(), strict=True):
        pos, neg = np.asarray(c["positive"]), np.asarray(c["negative"])
        for b, base in enumerate("ACGU"):
            ax.plot(np.arange(1, pos.shape[1] + 1), np.log2((pos[b] + 1e-3) / (neg[b] + 1e-3)), label=base, lw=1.2)
        ax.axvspan(FLANK + 0.5, pos.shape[1] - FLANK + 0.5, color="0.92", zorder=0)
        ax.axhline(0, color="0.5", lw=0.6)
        ax.set_title(f"{number(folder)} {PUBLISHED[number(folder)][0]}")
        ax.set_xlabel(f"position (shaded: central {CENTRE} nt)")
    axes[0, 0].set_ylabel("log2 freq. positives / negatives")
    axes[0, -1].legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png


def one(folder: str, args, work: Path) -> dict:
    path = work / f"{folder}.json"
    res = json.loads(path.read_text()) if path.exists() and not args.rerun else {}
    import torch

    from rnalabel import fit, load_recipe
    from rnalabel.io.benchmark_sets import load_rbp31_experiment

    if args.threads:
        torch.set_num_threads(args.threads)
    ds = load_rbp31_experiment(args.data, folder)
    y = ds.labels[:, 0].astype(int)
    keys, starts, ends = coordinates(ds.ids)
    if "composition" not in res:
        res["composition"] = composition(ds)
        path.write_text(json.dumps(res, indent=1))
    rec = load_recipe(args.recipe).with_train(seed=args.seed, max_epochs=args.max_epochs)
    for kind in args.splits:
        if kind in res:
            continue
        t0 = time.perf_counter()
        split = make_split(kind, ds, args.seed)
        tr, te = np.flatnonzero(split == "train"), np.flatnonzero(split == "test")
        r = {"n_train": len(tr), "n_test": len(te),
             "test_pos_overlapping_train_pos": overlapping(te[y[te] == 1], tr, keys, starts, ends, y, True),
             "test_overlapping_any_train": overlapping(te, tr, keys, starts, ends, y, False)}
        model, report = fit(rec, ds.with_split(split), progress=False)
        label = ds.label_names[0]
        r |= {"test_auc": report.test.per_label[label]["auroc"], "val_auc": report.val.per_label[label]["auroc"],
              "epochs": len(report.history), "best_epoch": report.best_epoch}
        if kind == "published":
            r["occlusion"] = occlusion(model, ds, split)
            r["kmer_auc"] = {"whole": kmer_auc(ds, split, 0, 10_000),
                             "centre": kmer_auc(ds, split, FLANK, -FLANK),
                             "flanks": (kmer_auc(ds, split, 0, FLANK), kmer_auc(ds, split, -FLANK, 10_000))}
        r["seconds"] = time.perf_counter() - t0
        res[kind] = r
        path.write_text(json.dumps(res, indent=1))
        print(f"{folder} {kind}: test AUC {r['test_auc']:.3f} ({r['epochs']} epochs, {r['seconds']:.0f} s); "
              f"test positives overlapping a training positive {r['test_pos_overlapping_train_pos']:.3f}", flush=True)
    return res


def report(results: dict[str, dict], args, commit: str, t0: float) -> None:
    f3 = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    lines = ["# RBP-31: the rows where only DeepMiRBP scores high", "",
             "Same model (recipe `" + args.recipe + f"`, seed {args.seed}, early stopping, epoch cap "
             f"{args.max_epochs}) trained on three splits of each experiment's 40,000 windows, each with the "
             "published test size (10,000): `published` (training_sample_0 / test_sample_0), `random` (the two "
             "parts merged and split at random, stratified by class: what re-packing the parts does) and "
             "`grouped` (random as well, but windows that overlap each other, same chromosome and strand, stay on "
             "one side). Overlap columns: share of test positives whose window overlaps a training positive.", "",
             "| # | experiment | DeepMiRBP (paper) | best other published | published split | random split | "
             "grouped random split | random minus published | test pos. overlapping train pos. (published / random / "
             "grouped) | epochs (p / r / g) |", "|---|---|---|---|---|---|---|---|---|---|"]
    gains = []
    for folder, res in results.items():
        n = number(folder)
        name, pub = PUBLISHED[n]
        g = {k: res.get(k, {}) for k in SPLITS}
        gain = None
        if "test_auc" in g["random"] and "test_auc" in g["published"]:
            gain = g["random"]["test_auc"] - g["published"]["test_auc"]
            gains.append((n, name, gain, pub[0] - g["published"]["test_auc"]))
        lines.append(f"| {n} | {name} | {pub[0]:.3f} | {max(pub[1:]):.3f} | "
                     + " | ".join(f3(g[k].get("test_auc")) for k in SPLITS) + " | "
                     + ("-" if gain is None else f"{gain:+.3f}") + " | "
                     + " / ".join(f3(g[k].get("test_pos_overlapping_train_pos")) for k in SPLITS) + " | "
                     + " / ".join(str(g[k].get("epochs", "-")) for k in SPLITS) + " |")
    if gains:
        lines += ["", "Reading: splitting the merged parts at random changes our test AUC by "
                  + ", ".join(f"{g:+.3f} on {n} {name} (DeepMiRBP paper minus our published split: {d:+.3f})"
                              for n, name, g, d in gains)
                  + ". A `grouped` column left empty was not run (it separates overlapping windows, which only "
                  "matters where the random split gains)."]
    lines += ["", "## Where the signal is (published split)", "",
              f"Occlusion: test AUC of the published-split model with the central {CENTRE} nt, or the two {FLANK}-nt "
              "flanks, replaced by N. Composition: logistic regression on 1-3-mer frequencies (84 features) of "
              "the region named, trained on the published training part.", "",
              "| # | experiment | model, whole | model, centre N | model, flanks N | k-mer LR whole | k-mer LR "
              f"centre {CENTRE} nt | k-mer LR 5' flank | k-mer LR 3' flank |", "|---|---|---|---|---|---|---|---|---|"]
    for folder, res in results.items():
        p = res.get("published", {})
        if "occlusion" not in p:
            continue
        o, k = p["occlusion"], p["kmer_auc"]
        lines.append(f"| {number(folder)} | {PUBLISHED[number(folder)][0]} | {o['whole']:.3f} | "
                     f"{o['centre N']:.3f} | {o['flanks N']:.3f} | {k['whole']:.3f} | {k['centre']:.3f} | "
                     f"{k['flanks'][0]:.3f} | {k['flanks'][1]:.3f} |")
    png = plot_composition(results, Path(args.out).with_name(Path(args.out).stem + "_composition.png"))
    if png is not None:
        lines += ["", f"Base composition along the window, positives against negatives (whole published data): "
                  f"[{png.name}]({png.name})."]
    secs = sum(res[k].get("seconds", 0) for res in results.values() for k in SPLITS if k in res)
    lines += ["", f"Training and scoring time summed over all fits: {secs / 60:.1f} min; peak RSS "
              f"{peak_rss_mb():.0f} MiB (this process). Per-experiment JSON in `{args.work}` (not committed)."]
    write_result(args.out, lines, commit, t0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="rbp31 folder (holding datasets/)")
    ap.add_argument("--experiments", default="2,9,15,5,23", help="comma-separated numbers")
    ap.add_argument("--splits", default=",".join(SPLITS))
    ap.add_argument("--recipe", default="rbp31_single")
    ap.add_argument("--max-epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--work", default="runs/bench_rbp31_split")
    ap.add_argument("--out", default="benchmarks/results/rbp31_split.md")
    ap.add_argument("--rerun", action="store_true")
    args = ap.parse_args(argv)
    args.splits = [s for s in args.splits.split(",") if s]
    if bad := set(args.splits) - set(SPLITS):
        ap.error(f"unknown split(s) {sorted(bad)}; choose from {SPLITS}")
    from rnalabel.io.benchmark_sets import rbp31_experiments

    wanted = [int(x) for x in args.experiments.split(",")]
    folders = sorted((f for f in rbp31_experiments(args.data) if number(f) in wanted),
                     key=lambda f: wanted.index(number(f)))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    t0, commit = time.perf_counter(), git_commit()
    results = {}
    for f in folders:
        results[f] = one(f, args, work)
        report(results, args, commit, t0)  # after each experiment, so a long run shows what it has


if __name__ == "__main__":
    main()
