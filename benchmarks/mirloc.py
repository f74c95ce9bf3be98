"""miRNA subcellular localisation: MMLmiRLocNet (k-mer + word2vec views) against baselines and its own ablations.

Data: ../shared/data/mirna_localization (840 human miRNAs, 6 compartments, RNALocate-derived, as published with
MirLocPredictor), in the 6-label setting and the paper's 4-label one (Nucleus, Exosome, Cytoplasm, Microvesicle).
Protocol: per seed, one iterative-stratification split 72/8/20 (train / validation / test); every method is fitted
on train, chooses its per-label thresholds (max F1) on validation (the networks also early-stop on it), and is
scored once on test with the paper's five metrics (``rnalabel.engine.metrics.PAPER_METRICS``). Mean ± sd over
the seeds.

Methods:
* ``prior``: every miRNA gets the training prevalence of each label (AUROC 0.5; the floor to beat);
* ``kmer + logistic regression``: k = 1-4 frequencies, one-vs-rest L2 logistic regression (C = 1, scikit-learn);
* ``one-hot CNN``: a DeepBind-style CNN on the nucleotide one-hot of the whole miRNA (a MirLocPredictor-style
  sequence CNN; rnalabel's ``deepbind`` model as a whole-sequence bundle);
* ``MMLmiRLocNet``: the ``mmlmirlocnet`` recipe (k-mer + word2vec, consensus/specific fusion);
* ablations: each view alone through the same fusion, and both views without fusion (``fusion: false``);
* with ``--neighbours``: rnalabel's neighbours view (labels of the most similar training miRNAs by global
  alignment, k and temperature chosen by leave-one-out on train): its estimate alone with no network (an
  alignment nearest-neighbour baseline), the ``mmlmirlocnet_neighbours`` recipe (k-mer + word2vec + neighbours,
  the estimate as a logit offset), the same without the offset, the neighbours view alone through the fusion,
  and with ``--lm`` the three views plus neighbours; with ``--precursors HAIRPIN_FASTA`` as well, the
  neighbours estimate and the recipe where two miRNAs cut from one precursor hairpin (5p and 3p arms) also count
  as relatives (the view's ``precursors``; the similarity they get is chosen by leave-one-out on train);
* with ``--lm LM_DIR``: the third, semantic view (the hidden states of rnalabel's own pretrained RNA language
  model, 105 positions), the three views together, the LM view alone, the LM view paired with each of the others,
  the three views without fusion, and the three views with an untrained LM of the same size (does pretraining
  help?).

Published figures (paper Table III, its own 538-miRNA set, not public): quoted, not comparable.

Usage::

    python benchmarks/mirloc.py --data ../shared/data/mirna_localization --out benchmarks/results/mirloc.md
    python benchmarks/mirloc.py --neighbours --lm runs/rnalm_h256 --out benchmarks/results/mirloc_neighbours.md
    python benchmarks/mirloc.py --neighbours --precursors ../shared/data/mirbase/hairpin.fa \
        --out benchmarks/results/mirloc_precursors.md
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rbp31 import git_commit, reproduce_footer  # noqa: E402

from rnalabel import Dataset, fit, load_recipe  # noqa: E402
from rnalabel.data import split_iterative, write_text_atomic  # noqa: E402
from rnalabel.engine.forward import sequence_scores  # noqa: E402
from rnalabel.engine.metrics import PAPER_METRICS, choose_thresholds, evaluate_arrays  # noqa: E402
from rnalabel.engine.recipe import Recipe, TrainConfig  # noqa: E402
from rnalabel.io.benchmark_sets import build  # noqa: E402
from rnalabel.views.kmer import kmer_profile  # noqa: E402

FOUR = ["Nucleus", "Exosome", "Cytoplasm", "Microvesicle"]
PUBLISHED = {"MMLmiRLocNet": (0.6124, 0.5953, 0.3152, 0.7094, 0.2627),
             "MirLocPredictor": (0.5940, 0.5760, 0.2930, 0.6930, 0.2720)}
ORDER = list(PAPER_METRICS)  # Accuracy, AucMacro, SubsetAcc, F1, Hloss


def scores(y_val, s_val, y_test, s_test, names) -> dict[str, float]:
    thr = choose_thresholds(y_val, s_val)
    avg = evaluate_arrays(y_test, s_test, label_names=names, thresholds=thr).averages
    return {m: avg[key] for m, key in PAPER_METRICS.items()}


def mean_sd(values) -> str:
    """"mean ± sd" of repetitions (sd 0 for one repetition)."""
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0:.3f}"


def metric_cells(rows: list[dict[str, float]]) -> list[str]:
    """"mean ± sd" over repetitions of each of the five metrics, in ORDER."""
    return [mean_sd([r[m] for r in rows]) for m in ORDER]


def prior(train: Dataset, val: Dataset, test: Dataset) -> dict[str, float]:
    p = np.nanmean(train.labels, axis=0)
    rng = np.random.default_rng(0)  # ties broken at random, so that AUROC is 0.5 and not undefined
    sv = p[None, :] + 1e-9 * rng.random((len(val), len(p)))
    st = p[None, :] + 1e-9 * rng.random((len(test), len(p)))
    return scores(val.labels, sv, test.labels, st, train.label_names)


def kmer_lr(train: Dataset, val: Dataset, test: Dataset) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    def x(d):
        return kmer_profile(d.tokens, d.lengths, (1, 2, 3, 4))

    xt = x(train)
    sv, st = np.zeros(val.labels.shape), np.zeros(test.labels.shape)
    for j in range(train.n_labels):
        clf = LogisticRegression(C=1.0, max_iter=2000).fit(xt, train.labels[:, j])
        sv[:, j], st[:, j] = clf.predict_proba(x(val))[:, 1], clf.predict_proba(x(test))[:, 1]
    return scores(val.labels, sv, test.labels, st, train.label_names)


def neighbours(spec: dict, train: Dataset, val: Dataset, test: Dataset, keep: dict | None = None) -> dict[str, float]:
    """The estimate (first K columns) of the neighbours view ``spec`` as the scores: no network. ``keep`` receives
    the test scores ("test") and each test miRNA's similarity to its nearest training miRNA ("nearest")."""
    from rnalabel.views import build_view

    view = build_view(spec).fit(train)
    if view.precursors is not None:
        print(f"  neighbours with precursors: {len(view.precursor_sequences)} kept, leave-one-out chose k {view.k}, "
              f"temperature {view.temperature}, sibling similarity {view.sibling_similarity}", flush=True)
    k = train.n_labels
    xt = view.transform(test)
    if keep is not None:
        keep.update(test=xt[:, :k], nearest=xt[:, k])
    return scores(val.labels, view.transform(val)[:, :k], test.labels, xt[:, :k], train.label_names)


def network(recipe: Recipe, ds: Dataset, keep: dict | None = None) -> tuple[dict[str, float], int]:
    """Fit on train, score test; ``keep`` (optional) receives the test scores under "test"."""
    model, report = fit(recipe, ds, progress=False, device="cpu")
    val, test = ds.select_split("val"), ds.select_split("test")
    sv = sequence_scores(model, val, progress=False)
    st = sequence_scores(model, test, progress=False)
    if keep is not None:
        keep["test"] = st
    return scores(val.labels, sv, test.labels, st, ds.label_names), len(report.history)


#: the methods whose AucMacro is split by how close each test miRNA's nearest training miRNA is (--neighbours)
NEAR_ROWS = ("one-hot CNN", "MMLmiRLocNet (k-mer + word2vec)", "alignment neighbours, no network",
             "MMLmiRLocNet + neighbours (k-mer + word2vec + neighbours, offset)",
             "alignment + precursor neighbours, no network",
             "MMLmiRLocNet + neighbours with precursors (offset)")
NEAR = 0.5  # global-alignment similarity (score / longer length; 1 = identical) that splits the test miRNAs


def near_section(kept: dict[str, dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]]) -> list[str]:
    """AucMacro of NEAR_ROWS on the test miRNAs whose nearest training miRNA is below / at or above NEAR."""
    from rnalabel.engine.metrics import per_label_auc

    out = ["", "## Where the neighbours help: test miRNAs with and without a close training relative", "",
           f"AucMacro on the test miRNAs whose most similar training miRNA (global alignment, score / longer "
           f"length) is below {NEAR} and at or above it; mean ± sd over repetitions, labels with one class in a "
           "group left out.", ""]
    for setting, rows in kept.items():
        out += [f"### {setting}", "", f"| method | similarity < {NEAR} | similarity >= {NEAR} |", "|---|---|---|"]
        counts: list[int] = []
        for name in NEAR_ROWS:
            cells, counts = [], []
            for far in (True, False):
                vals, n = [], 0
                for y, st, near in rows.get(name, []):
                    m = (near < NEAR) if far else (near >= NEAR)
                    n += int(m.sum())
                    auc = per_label_auc(y[m], st[m])[0] if m.any() else np.array([np.nan])
                    if np.isfinite(auc).any():
                        vals.append(float(np.nanmean(auc)))
                counts.append(n)
                cells.append(mean_sd(vals) if vals else "-")
            if name in rows:
                out.append(f"| {name} | " + " | ".join(cells) + " |")
        if counts:
            out += ["", f"Test miRNAs over all repetitions: {counts[0]} below {NEAR}, {counts[1]} at or above.", ""]
    return out


def methods(seed: int, lm: str | None = None, nb: bool = False,
            precursors: str | None = None) -> dict[str, Recipe | str | dict]:
    base = load_recipe("mmlmirlocnet")
    base = replace(base, train=replace(base.train, seed=seed))
    onehot = Recipe(name="onehot-cnn", model="deepbind", kind="whole-sequence", views={"seq": {"type": "onehot"}},
                    params={"filters": 32, "kernel": 8, "hidden": 32}, window=base.window,
                    train=TrainConfig(batch_size=32, max_epochs=100, patience=10, seed=seed))
    out = {
        "prior": "prior", "kmer + logistic regression": "kmer_lr", "one-hot CNN": onehot,
        "MMLmiRLocNet (k-mer + word2vec)": base,
        "k-mer view alone (fusion)": replace(base, views={"kmer": base.views["kmer"]}),
        "word2vec view alone (fusion)": replace(base, views={"w2v": base.views["w2v"]}),
        "k-mer + word2vec, no fusion": replace(base, params={**base.params, "fusion": False}),
    }
    if lm is not None:  # the paper's semantic view, from rnalabel's own pretrained RNA language model
        view = {"type": "lm", "path": lm, "length": 105}
        three = replace(base, views={**base.views, "lm": view})
        out.update({
            "MMLmiRLocNet (k-mer + word2vec + LM)": three,
            "LM view alone (fusion)": replace(base, views={"lm": view}),
            "k-mer + LM (fusion)": replace(base, views={"kmer": base.views["kmer"], "lm": view}),
            "word2vec + LM (fusion)": replace(base, views={"w2v": base.views["w2v"], "lm": view}),
            "k-mer + word2vec + untrained LM of the same size": replace(
                base, views={**base.views, "lm": {**view, "random_init": True}}),
            "k-mer + word2vec + LM, no fusion": replace(three, params={**base.params, "fusion": False}),
        })
    if nb:  # rnalabel's neighbours view (not in the paper)
        nbr = load_recipe("mmlmirlocnet_neighbours")
        nbr = replace(nbr, train=replace(nbr.train, seed=seed))
        no_offset = {**nbr.params, "offset": ""}
        out.update({
            "alignment neighbours, no network": {"type": "neighbours"},
            "MMLmiRLocNet + neighbours (k-mer + word2vec + neighbours, offset)": nbr,
            "k-mer + word2vec + neighbours, no offset": replace(nbr, params=no_offset),
            "neighbours view alone (fusion, offset)": replace(nbr, views={"nb": nbr.views["nb"]}),
        })
        if precursors is not None:  # RNAs of one precursor hairpin count as relatives
            pre = {"type": "neighbours", "precursors": precursors}
            out.update({"alignment + precursor neighbours, no network": pre,
                        "MMLmiRLocNet + neighbours with precursors (offset)": replace(
                            nbr, views={**nbr.views, "nb": pre})})
        if lm is not None:
            view = {"type": "lm", "path": lm, "length": 105}
            out["k-mer + word2vec + LM + neighbours (offset)"] = replace(nbr, views={**nbr.views, "lm": view})
            out["k-mer + word2vec + untrained LM + neighbours (offset)"] = replace(
                nbr, views={**nbr.views, "lm": {**view, "random_init": True}})
    return out


def splits(full: Dataset, seeds: list[int], cv: int):
    """(seed, dataset with train/val/test) per repetition: one 72/8/20 split per seed, or the folds of a k-fold
    cross-validation (test = one fold; validation = 10 % of the others, stratified)."""
    if not cv:
        for seed in seeds:
            yield seed, split_iterative(full, (0.72, 0.08, 0.2), seed=seed)
        return
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    y = (np.nan_to_num(full.labels) == 1).astype(int)
    folds = MultilabelStratifiedKFold(n_splits=cv, shuffle=True, random_state=seeds[0])
    for k, (_, test) in enumerate(folds.split(np.zeros(len(full)), y)):
        split = np.full(len(full), "train", dtype=object)
        split[test] = "test"
        yield seeds[0] + k, split_iterative(full.with_split(split), (0.9, 0.1, 0.0), seed=seeds[0] + k,
                                            only_unsplit=True)


def corpus_files(files: list[dict], show: int = 3) -> str:
    """The corpus files of an LM card, the first few by name (a corpus of 33 files is not one line of paths)."""
    paths = [f"`{f['path']}`" for f in files]
    if len(paths) <= show + 1:
        return ", ".join(paths)
    return f"{', '.join(paths[:show])} and {len(paths) - show} more files (all listed in the LM's card.json)"


def lm_section(lm_dir: str, ds: Dataset) -> list[str]:
    """The language model used: its pretraining (from its card) and the embedding throughput measured here."""
    import resource

    from rnalabel.io.lm import load_lm
    from rnalabel.views import build_view

    lm = load_lm(lm_dir)
    p = lm.card.get("pretraining", {})
    c = lm.config
    view = build_view({"type": "lm", "path": lm_dir, "length": 105}).fit(ds)
    view.transform(ds.subset(np.arange(min(64, len(ds)))))  # warm-up
    t = time.perf_counter()
    view.transform(ds)
    sps = len(ds) / (time.perf_counter() - t)
    hist = p.get("history", [])
    rows = [f"| {h['epoch']} | {h['train_loss']:.3f} | {h['val_loss']:.3f} | {h['val_accuracy']:.3f} | "
            f"{h['val_perplexity']:.2f} |" for h in hist]
    corpus = p.get("corpus", {})
    return ["## The language model of the semantic view", "",
            f"`{lm_dir}`: BERT, {c.num_hidden_layers} layers x {c.hidden_size} units, {c.num_attention_heads} heads, "
            f"{p.get('parameters', 0):,} parameters, pretrained by `rnalabel lm pretrain` on "
            f"{corpus_files(corpus.get('files', []))} ({corpus.get('sequences_read', 0):,} sequences "
            f"read, {corpus.get('distinct', 0):,} distinct, cut into {corpus.get('pieces', 0):,} pieces of at most "
            f"{c.max_nucleotides} nt, {corpus.get('val', 0):,} kept for validation; {corpus.get('nucleotides', 0):,} nt), "
            f"precision {p.get('precision')}, {p.get('seconds_last_run', 0) / 60:.0f} min for the last run of "
            f"pretraining at {p.get('tokens_per_second_last_run', 0):,.0f} nucleotides/s on this machine's 2 cores.",
            "", "| epoch | train loss | validation loss | masked-token accuracy | perplexity |", "|---|---|---|---|---|",
            *rows, "",
            f"A random guess among 4 nucleotides has accuracy 0.25 and perplexity 4. Embedding the {len(ds)} miRNAs "
            f"(105 positions): {sps:,.0f} sequences/s. Peak memory of this benchmark process: "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB.", ""]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data/mirna_localization")
    ap.add_argument("--out", default="benchmarks/results/mirloc.md")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--lm", default=None, help="LM folder (rnalabel lm pretrain) for the semantic view")
    ap.add_argument("--neighbours", action="store_true",
                    help="add the rows of rnalabel's neighbours view (an alignment nearest-neighbour baseline and "
                         "MMLmiRLocNet with it)")
    ap.add_argument("--precursors", default=None,
                    help="with --neighbours: a FASTA of precursor hairpins (e.g. ../shared/data/mirbase/hairpin.fa); "
                         "adds the neighbours rows where two miRNAs of one hairpin count as relatives")
    ap.add_argument("--cv", type=int, default=0,
                    help="k-fold cross-validation instead of one split per seed (folds by iterative stratification; "
                         "validation = 10 %% of the other folds); uses the first seed only")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    commit = git_commit()
    seeds = [int(s) for s in args.seeds.split(",")]
    settings = {"6 labels": None, "4 labels (the paper's)": FOUR}
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    epochs: dict[str, list[int]] = {}
    kept: dict[str, dict[str, list]] = {}  # setting -> method -> (test labels, scores, nearest similarity)
    for setting, labels in settings.items():
        full = build("mirloc", args.data, split=None, labels=labels)
        for seed, ds in splits(full, seeds, args.cv):
            train, val, test = (ds.select_split(s) for s in ("train", "val", "test"))
            got: dict[str, dict] = {}
            for name, how in methods(seed, args.lm, args.neighbours, args.precursors).items():
                keep = got.setdefault(name, {}) if args.neighbours and name in NEAR_ROWS else None
                if how == "prior":
                    r = prior(train, val, test)
                elif how == "kmer_lr":
                    r = kmer_lr(train, val, test)
                elif isinstance(how, dict):
                    r = neighbours(how, train, val, test, keep)
                else:
                    r, n_ep = network(how, ds, keep)
                    epochs.setdefault(name, []).append(n_ep)
                results.setdefault(setting, {}).setdefault(name, []).append(r)
                print(f"{setting} seed {seed} {name}: " + ", ".join(f"{m} {r[m]:.3f}" for m in ORDER), flush=True)
            near = got.get("alignment neighbours, no network", {}).get("nearest")
            for name, g in got.items():
                if near is not None:
                    kept.setdefault(setting, {}).setdefault(name, []).append((test.labels, g["test"], near))
    lines = ["# miRNA subcellular localisation: MMLmiRLocNet against baselines and ablations", "",
             f"Data: `{args.data}` (840 miRNAs). "
             + (f"{args.cv}-fold cross-validation (folds by iterative stratification, seed {seeds[0]}; validation = "
                "10 % of the other folds)" if args.cv else
                f"Per seed ({', '.join(map(str, seeds))}) one iterative-stratification split 72/8/20")
             + "; fit on train, per-label thresholds (max F1) and early stopping on validation, one score "
             "on test. Mean ± sd over " + ("folds." if args.cv else "seeds.") + "  Metrics as the MMLmiRLocNet paper defines them (Accuracy = example-"
             "based Jaccard, AucMacro = mean per-label AUROC, SubsetAcc = exact match, F1 = 2PR/(P+R) of "
             "example-based precision and recall, Hloss = Hamming loss; lower is better only for Hloss).", ""]
    for setting, by_method in results.items():
        lines += [f"## {setting}", "", "| method | " + " | ".join(ORDER) + " |", "|---|" + "---|" * len(ORDER)]
        for name, rows in by_method.items():
            lines.append(f"| {name} | " + " | ".join(metric_cells(rows)) + " |")
        lines.append("")
    lines += ["Epochs run by the networks (early stopping, patience 10, cap 100): " + "; ".join(
        f"{k} {min(v)}-{max(v)}" for k, v in epochs.items()), "",
              "## Published (paper Table III, 4 labels, the authors' own 538-miRNA set: not the same data)", "",
              "| method | " + " | ".join(ORDER) + " |", "|---|" + "---|" * len(ORDER)]
    for name, vals in PUBLISHED.items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    if kept:
        lines += near_section(kept)
    if args.lm:
        lines += lm_section(args.lm, full)
    lines += reproduce_footer(commit, t0)
    write_text_atomic(args.out, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
