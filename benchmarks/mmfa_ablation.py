"""MMFA ablation on the eCLIP multi-label data: the structure of Table 1 of the MMFA RNA-RBP paper, plus a lambda/gamma grid.

What it runs (everything through :func:`rnalabel.engine.training.fit` and the built-in recipes):

1. the eCLIP sequence x RBP matrix (:func:`rnalabel.io.benchmark_sets.build_eclip_multilabel`: 91 experiments +
   ``negative``), a seeded, label-stratified subsample of ``--n-sequences`` rows (iterative stratification keeps
   every label's positive rate), split 70/10/20 (train/val/test) by iterative stratification;
2. per seed: the three single-view CNNs (recipes ``viewcnn_rna``, ``viewcnn_aminoacid``, ``viewcnn_dipeptide``;
   the single-view rows of Table 1 and the paper's Part A), then MMFA (Part B) on every pair of views, on all
   three, and MMFA-MA (all three, no attention), each trained with ``fit(..., stages=["fusion"],
   init_state=view_encoder_state(cnns))``: Part B on the frozen CNNs of the same seed, as in the paper (the
   three CNNs are trained separately, each with its own early stopping);
3. on one seed, a grid over lambda (common) and gamma (private), scored on the validation split (Fig. 7).

Results (test split unless said otherwise) go to ``--out`` (Markdown) and the same name with ``.json``; every
finished run is also appended to ``<work>/runs.jsonl`` so an interrupted run resumes where it stopped.

Example::

    nice -n 10 python benchmarks/mmfa_ablation.py --data ../shared/data/eclip --out benchmarks/results/mmfa.md
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import subprocess
import sys
import time
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import numpy as np
import torch

from rnalabel.data import Dataset, split_iterative
from rnalabel.engine.bundle import load_model, save_model
from rnalabel.engine.recipe import Recipe, load_recipe
from rnalabel.engine.training import fit
from rnalabel.io.benchmark_sets import build_eclip_multilabel
from rnalabel.models.mmfa import view_encoder_state

VIEWS = ("rna", "aminoacid", "dipeptide")
SHORT = {"rna": "RNA", "aminoacid": "amino acid", "dipeptide": "dipeptide"}
POOL = {"rna": 3, "aminoacid": 3, "dipeptide": 1}
METRICS = [("auroc_weighted", "weighted AUC", 1), ("f1_weighted", "weighted F1", 1), ("exact_match", "exact match", 1),
           ("one_error", "one-error", -1), ("auroc_macro", "macro AUROC", 1), ("ap_macro", "macro AP", 1)]
log = logging.getLogger("mmfa_ablation")


# data -------------------------------------------------------------------------------------------------------
def load_subset(root: str, n: int, seed: int) -> tuple[Dataset, dict]:
    """The eCLIP matrix, a stratified subsample of ``n`` rows, split 70/10/20; and a description of it."""
    full = build_eclip_multilabel(root, seed=seed)
    if n < len(full):
        frac = n / len(full)
        pick = split_iterative(full, (frac, 0.0, 1.0 - frac), seed=seed)
        ds = full.subset(np.flatnonzero(pick.split == "train"))
    else:
        ds = full
    ds = split_iterative(ds, (0.7, 0.1, 0.2), seed=seed)  # the builder assigns no split
    pos = np.nansum(ds.labels == 1, axis=0)
    pos_full = np.nansum(full.labels == 1, axis=0)
    info = {
        "positives_per_label_full": {"min": int(pos_full.min()), "median": float(np.median(pos_full)),
                                     "max": int(pos_full.max())},
        "n_full": len(full), "n": len(ds), "labels": len(ds.label_names), "seed": seed,
        "split": {s: int(np.sum(ds.split == s)) for s in ("train", "val", "test")},
        "positives_per_label": {"min": int(pos.min()), "median": float(np.median(pos)), "max": int(pos.max())},
        "labels_per_row": float(np.mean(np.nansum(ds.labels == 1, axis=1))),
        "rows_with_2plus": int(np.sum(np.nansum(ds.labels == 1, axis=1) >= 2)),
        "length": int(ds.lengths.max()),
    }
    return ds, info


# runs -------------------------------------------------------------------------------------------------------
def _train_settings(rec: Recipe, args, seed: int, epochs: int) -> Recipe:
    return rec.with_train(max_epochs=epochs, patience=args.patience, seed=seed, batch_size=args.batch_size)


def fusion_recipe(views: tuple[str, ...], *, attention: bool, lam: float, gam: float,
                  feature_training: str = "frozen") -> Recipe:
    """The built-in ``mmfa`` recipe on a subset of its views."""
    base = load_recipe("mmfa")
    params = {**base.params, "pool": [POOL[v] for v in views], "attention": attention,
              "lambda_common": lam, "gamma_private": gam, "feature_training": feature_training}
    name = "mmfa" + ("" if attention else "_ma") + "_" + "+".join(views)
    return replace(base, name=name, params=params, views={v: base.views[v] for v in views})


def summarize(report, model, seconds: float) -> dict:
    """What is kept of one run: averages (test and val), per-label test AP / AUROC and counts, training facts."""
    test = report.test
    train_counts = model.card["provenance"]["label_counts_train"]
    return {
        "test": test.averages, "val": report.val.averages,
        "per_label": {n: {"ap": d["ap"], "auroc": d["auroc"], "n_pos_test": d["n_pos"],
                          "n_pos_train": train_counts[n]["positive"]} for n, d in test.per_label.items()},
        "history": [{k: h[k] for k in ("epoch", "train_loss", "val_loss")} for h in report.history],
        "n_test": test.n, "epochs": len(report.history), "best_epoch": report.best_epoch, "seconds": round(seconds, 1),
        "train_seq_per_s": round(report.timings.get("train_seq_per_s", float("nan")), 1),
    }


def fusion_diagnostics(model, ds: Dataset, chunk: int = 2048) -> dict:
    """What Part B of a trained MMFA does on the rows of ``ds``: attention, active feature units, loss terms.

    Returns ``attention`` (V, V + 1) mean weights (None for MMFA-MA), ``attention_max`` (mean of each head's
    largest weight; 1 / (V + 1) = uniform), ``common_active`` / ``private_active`` (fraction of (row, unit)
    entries above 0 after the ReLU) and the mean loss terms of ``training_losses``.
    """
    from rnalabel.engine.losses import masked_bce

    m = model.module.eval()
    sums: dict[str, float] = {}
    att, n = None, 0
    with torch.inference_mode():
        for a in range(0, len(ds), chunk):
            part = ds.subset(slice(a, a + chunk))
            x = {k: torch.from_numpy(v) for k, v in model.featurize(part).items()}
            out = m.fuse(m.deep_features(x))
            losses = m.training_losses(x, torch.from_numpy(part.labels), masked_bce)
            k = len(part)
            terms = {"common_active": (out.view_common > 0).float().mean(), "private_active":
                     (out.private > 0).float().mean(), **{f"loss_{t}": v for t, v in losses.items() if t != "monitor"}}
            if out.attention is not None:
                terms["attention_max"] = out.attention.max(-1).values.mean()
                att = out.attention.sum(0) if att is None else att + out.attention.sum(0)
            for t, v in terms.items():
                sums[t] = sums.get(t, 0.0) + float(v) * k
            n += k
    return {**{t: v / n for t, v in sums.items()}, "attention": None if att is None else (att / n).tolist()}


class Runs:
    """Finished runs, kept in ``runs.jsonl`` (one JSON object per line) so a restart skips them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[str, dict] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    r = json.loads(line)
                    self.done[r["key"]] = r

    def add(self, record: dict) -> None:
        self.done[record["key"]] = record
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")


def run_seed(ds: Dataset, seed: int, args, runs: Runs, work: Path, grid: bool) -> None:
    """Single views, pairs, all three and MMFA-MA for one seed (and the lambda/gamma grid when ``grid``)."""
    cnns = {}
    for v in VIEWS:
        key = f"seed{seed}/single/{v}"
        folder = work / f"seed{seed}" / f"viewcnn_{v}"
        if key in runs.done and (folder / "card.json").exists():
            cnns[v] = load_model(folder)
            continue
        t0 = time.perf_counter()
        rec = _train_settings(load_recipe(f"viewcnn_{v}"), args, seed, args.max_epochs)
        model, report = fit(rec, ds, progress=False, device="cpu")
        save_model(model, folder)
        cnns[v] = model
        runs.add({"key": key, "seed": seed, "kind": "single", "views": [v],
                  **summarize(report, model, time.perf_counter() - t0)})
        log.info("%s: weighted AUC %.4f, macro AP %.4f, %d epochs, %.0f s", key,
                 report.test.averages["auroc_weighted"], report.test.averages["ap_macro"], len(report.history),
                 time.perf_counter() - t0)

    def fusion(key: str, views: tuple[str, ...], attention: bool, lam: float, gam: float, kind: str,
               diagnose: bool = False, feature_training: str = "frozen") -> None:
        if key in runs.done:
            return
        t0 = time.perf_counter()
        rec = _train_settings(fusion_recipe(views, attention=attention, lam=lam, gam=gam,
                                            feature_training=feature_training), args, seed, args.fusion_epochs)
        init = view_encoder_state({v: cnns[v].module for v in views})
        model, report = fit(rec, ds, progress=False, device="cpu", stages=["fusion"], init_state=init)
        rec_out = {"key": key, "seed": seed, "kind": kind, "views": list(views), "attention": attention,
                   "lambda": lam, "gamma": gam, **summarize(report, model, time.perf_counter() - t0)}
        if diagnose:
            rec_out["diagnostics"] = fusion_diagnostics(model, ds.select_split("test"))
        runs.add(rec_out)
        log.info("%s: weighted AUC %.4f (val %.4f), macro AP %.4f, %d epochs, %.0f s", key,
                 report.test.averages["auroc_weighted"], report.val.averages["auroc_weighted"],
                 report.test.averages["ap_macro"], len(report.history), time.perf_counter() - t0)

    lam, gam = args.lambda_common, args.gamma_private
    for pair in combinations(VIEWS, 2):
        fusion(f"seed{seed}/pair/{'+'.join(pair)}", pair, True, lam, gam, "pair")
    fusion(f"seed{seed}/all/mmfa", VIEWS, True, lam, gam, "all", diagnose=True)
    fusion(f"seed{seed}/all/mmfa_ma", VIEWS, False, lam, gam, "ma", diagnose=True)
    if args.extras:
        fusion(f"seed{seed}/all/mmfa_gamma0", VIEWS, True, lam, 0.0, "extra", diagnose=True)
        fusion(f"seed{seed}/all/mmfa_finetune", VIEWS, True, lam, gam, "extra", diagnose=True,
               feature_training="finetune")
    if grid:
        for gl in args.grid:
            for gg in args.grid:
                fusion(f"seed{seed}/grid/{gl:g}/{gg:g}", VIEWS, True, gl, gg, "grid")


# report -----------------------------------------------------------------------------------------------------
def _git(*cmd: str) -> str:
    try:
        return subprocess.run(["git", *cmd], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _fmt(values: list[float]) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.4f} ± {v.std(ddof=1):.4f}" if len(v) > 1 else f"{v.mean():.4f}"


def rows_of_table(done: dict[str, dict], seeds: list[int]) -> list[tuple[str, str, list[dict]]]:
    """(row label, key suffix, runs over seeds) in the order of the paper's Table 1."""
    rows = [(f"{SHORT[v]} (single-view CNN)", f"single/{v}") for v in VIEWS]
    rows += [(" + ".join(SHORT[v] for v in p) + " (MMFA)", f"pair/{'+'.join(p)}") for p in combinations(VIEWS, 2)]
    rows += [("all three (MMFA)", "all/mmfa"), ("all three, no attention (MMFA-MA)", "all/mmfa_ma"),
             ("all three, γ = 0 (extra, not in the paper)", "all/mmfa_gamma0"),
             ("all three, CNNs fine-tuned with L (extra, not in the paper)", "all/mmfa_finetune")]
    out = []
    for label, suffix in rows:
        rs = [done[f"seed{s}/{suffix}"] for s in seeds if f"seed{s}/{suffix}" in done]
        if rs:
            out.append((label, suffix, rs))
    return out


def claim_lines(table, seeds: list[int]) -> list[str]:
    """Paired differences, all three views minus each other row, per seed."""
    ref = {r["seed"]: r for r in next(rs for _, s, rs in table if s == "all/mmfa")}
    lines = ["| compared with | " + " | ".join(f"Δ {name}" for _, name, _ in METRICS) + " | MMFA better on |",
             "|---|" + "---|" * (len(METRICS) + 1)]
    verdicts = []
    for label, suffix, rs in table:
        if suffix in ("all/mmfa", "all/mmfa_gamma0", "all/mmfa_finetune"):  # the claim is about the paper's rows
            continue
        cells, wins, total = [], 0, 0
        for key, _, sign in METRICS:
            d = [sign * (ref[r["seed"]]["test"][key] - r["test"][key]) for r in rs if r["seed"] in ref]
            wins += sum(x > 0 for x in d)
            total += len(d)
            cells.append(_fmt(d))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {wins}/{total} (metric, seed) pairs |")
        d_auc = np.asarray([ref[r["seed"]]["test"]["auroc_weighted"] - r["test"]["auroc_weighted"]
                            for r in rs if r["seed"] in ref])
        sd = d_auc.std(ddof=1) if len(d_auc) > 1 else float("nan")
        if np.all(d_auc > 0) and d_auc.mean() > 2 * sd / np.sqrt(len(d_auc)):
            word = "better (every seed, mean difference above two standard errors)"
        elif np.all(d_auc < 0) and -d_auc.mean() > 2 * sd / np.sqrt(len(d_auc)):
            word = "WORSE (every seed, beyond two standard errors)"
        else:
            word = "not distinguishable from seed noise"
        verdicts.append(f"- vs {label}: weighted AUC {d_auc.mean():+.4f} (seeds: "
                        + ", ".join(f"{x:+.4f}" for x in d_auc) + f") -> {word}")
    lines += ["", "Signs are oriented so that a positive Δ means the three-view MMFA is better (one-error: lower).",
              "", "Verdict on weighted AUC, paired by seed:", "", *verdicts]
    return lines


def diagnostic_lines(table) -> list[str]:
    """What Part B learnt in the three-view rows (test rows, mean over seeds)."""
    rows = [(label, rs) for label, _, rs in table if all("diagnostics" in r for r in rs)]
    if not rows:
        return []
    lines = ["## What Part B learnt (three-view rows; test rows, mean over seeds)", "",
             "| model | common units active | private units active | largest attention weight per head "
             "(uniform: 0.25) | adversarial loss (chance: 1.099) | orthogonality term |", "|---|---|---|---|---|---|"]
    for label, rs in rows:
        d = [r["diagnostics"] for r in rs]
        att = (f"{np.mean([x['attention_max'] for x in d]):.3f}" if all("attention_max" in x for x in d) else "–")
        lines.append(f"| {label} | {np.mean([x['common_active'] for x in d]):.3f} | "
                     f"{np.mean([x['private_active'] for x in d]):.3f} | {att} | "
                     f"{np.mean([x['loss_adversarial'] for x in d]):.3f} | {np.mean([x['loss_private'] for x in d]):.3g} |")
    blocks = [f"Q({SHORT[v]})" for v in VIEWS] + ["C"]
    for label, rs in rows:
        att = [r["diagnostics"]["attention"] for r in rs if r["diagnostics"].get("attention") is not None]
        if len(att) == len(rs):
            a = np.mean(np.asarray(att), axis=0)
            lines += ["", f"Mean attention weights, {label} (rows: the query view; columns: the blocks of P):", "",
                      "| query | " + " | ".join(blocks) + " |", "|---|" + "---|" * len(blocks)]
            lines += [f"| {SHORT[v]} | " + " | ".join(f"{x:.3f}" for x in row) + " |"
                      for v, row in zip(VIEWS, a, strict=True)]
    return [*lines, ""]


def imbalance_lines(table, info: dict) -> list[str]:
    """Per-label test AP against training positives, for the three-view MMFA and the best single view."""
    from scipy.stats import spearmanr

    full, sub = info["positives_per_label_full"], info["positives_per_label"]
    lines = [f"Positives per label in the full matrix: min {full['min']:,}, median {full['median']:,.0f}, max "
             f"{full['max']:,}; in the subset: min {sub['min']}, median {sub['median']:.0f}, max {sub['max']} "
             f"(each label is positive for about {sub['median'] / info['n']:.1%} of the rows)."]
    if full["max"] < 2 * full["min"]:
        lines.append("Each eCLIP experiment file holds about 5,000 bound sites, so the labels are nearly balanced "
                     "among themselves: the between-label imbalance of the paper's AURA data (400 to 31,964 RNAs "
                     "per RBP) does not arise here, and AP cannot track positive counts that hardly vary. What "
                     "remains is the rarity of every label, which shows as APs a few times the prevalence.")
    lines.append("")
    singles = [(label, rs) for label, suffix, rs in table if suffix.startswith("single/")]
    best_single = max(singles, key=lambda t: np.mean([r["test"]["ap_macro"] for r in t[1]]))
    for label, rs in [(lbl, rs) for lbl, suffix, rs in table if suffix == "all/mmfa"] + [best_single]:
        names = list(rs[0]["per_label"])
        ap = np.asarray([[np.nan if r["per_label"][n]["ap"] is None else r["per_label"][n]["ap"] for n in names]
                         for r in rs], dtype=float).mean(0)
        npos = np.asarray([rs[0]["per_label"][n]["n_pos_train"] for n in names], dtype=float)
        prevalence = np.asarray([rs[0]["per_label"][n]["n_pos_test"] for n in names], dtype=float) / rs[0]["n_test"]
        ok = ~np.isnan(ap)
        rho, p = spearmanr(npos[ok], ap[ok])
        rho_l, p_l = spearmanr(npos[ok], ap[ok] / prevalence[ok])
        lines += [f"**{label}**: test AP per label (mean over seeds) against the label's training positives: "
                  f"Spearman ρ = {rho:.3f} (p = {p:.2g}); AP divided by the label's test prevalence (the AP of a "
                  f"random ranking): ρ = {rho_l:.3f} (p = {p_l:.2g}); {int(ok.sum())} labels.", "",
                  "| training positives (quartile bin) | labels | mean AP | mean test prevalence | mean AP / prevalence |",
                  "|---|---|---|---|---|"]
        edges = np.unique(np.quantile(npos[ok], [0, 0.25, 0.5, 0.75, 1.0]))
        edges = edges if len(edges) > 1 else np.repeat(edges, 2)
        for j, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            last = j == len(edges) - 2
            sel = ok & (npos >= a) & ((npos <= b) if last else (npos < b))
            if sel.any():
                lines.append(f"| {a:.0f} – {b:.0f} | {int(sel.sum())} | {ap[sel].mean():.4f} | "
                             f"{prevalence[sel].mean():.4f} | {np.mean(ap[sel] / prevalence[sel]):.1f} |")
        order = [i for i in np.argsort(ap) if ok[i]]
        shown = [f"{names[i]} {ap[i]:.3f} ({npos[i]:.0f})" for i in order]
        lines += ["", "Lowest AP (training positives): " + ", ".join(shown[:5]) + ".",
                  "Highest AP: " + ", ".join(shown[::-1][:5]) + ".", ""]
    return lines


def grid_lines(done: dict[str, dict], seed: int, grid: list[float]) -> list[str]:
    """Validation metrics over the lambda x gamma grid (rows lambda, columns gamma)."""
    lines = []
    for key, name, sign in METRICS[:4] + [METRICS[5]]:
        vals = {(gl, gg): done.get(f"seed{seed}/grid/{gl:g}/{gg:g}", {}).get("val", {}).get(key)
                for gl in grid for gg in grid}
        have = [v for v in vals.values() if v is not None]
        if not have:
            continue
        top = sorted(set(have), reverse=sign > 0)[:3]
        lines += [f"Validation {name} ({'higher' if sign > 0 else 'lower'} is better; the top three in bold):", "",
                  "| λ \\ γ | " + " | ".join(f"{g:g}" for g in grid) + " |", "|---|" + "---|" * len(grid)]
        for gl in grid:
            cells = []
            for gg in grid:
                v = vals[(gl, gg)]
                cells.append("–" if v is None else (f"**{v:.4f}**" if v in top else f"{v:.4f}"))
            lines.append(f"| {gl:g} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def write_report(path: Path, runs: Runs, args, info: dict, seeds: list[int], wall: float, command: str,
                 commit: str) -> None:
    done = runs.done
    table = rows_of_table(done, seeds)
    head = ["| views (model) | " + " | ".join(name for _, name, _ in METRICS) + " | epochs (best) | seconds |",
            "|---|" + "---|" * (len(METRICS) + 2)]
    body = []
    for label, _, rs in table:
        cells = [_fmt([r["test"][k] for r in rs]) for k, _, _ in METRICS]
        body.append(f"| {label} | " + " | ".join(cells) + f" | {np.mean([r['epochs'] for r in rs]):.0f} "
                    f"({np.mean([r['best_epoch'] for r in rs]):.0f}) | "
                    f"{np.mean([r['seconds'] for r in rs]):.0f} |")
    text = [
        "# MMFA ablation on eCLIP (structure of Table 1 of the MMFA RNA–RBP paper)", "",
        "Produced by `benchmarks/mmfa_ablation.py`; nothing in this file was edited by hand.", "",
        f"- command: `{command}`",
        f"- git commit at the start: `{commit}`",
        f"- finished: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; wall time of this invocation {wall / 60:.1f} min; "
        f"sum of the recorded run times {sum(r['seconds'] for r in done.values()) / 60:.1f} min",
        f"- machine: {platform.machine()}, CPU only, torch {torch.__version__} with {args.threads} thread(s), "
        "shared with other jobs (times are indicative only)",
        "",
        "## Data and subset", "",
        f"- eCLIP sequence x RBP matrix from `rnalabel.io.benchmark_sets.build_eclip_multilabel` (`{args.data}`): "
        f"{info['n_full']:,} unique 101-nt sequences, {info['labels']} labels (91 experiments + `negative`).",
        f"- **Subset**: {info['n']:,} rows drawn by iterative stratification (seed {info['seed']}), so each label "
        f"keeps its positive rate; split 70/10/20 by iterative stratification: train {info['split']['train']:,}, "
        f"val {info['split']['val']:,}, test {info['split']['test']:,}. Positives per label in the subset: min "
        f"{info['positives_per_label']['min']}, median {info['positives_per_label']['median']:.0f}, max "
        f"{info['positives_per_label']['max']}; {info['labels_per_row']:.2f} labels per row; "
        f"{info['rows_with_2plus']:,} rows with two or more labels.",
        f"- Why a subset: {len(table)} configurations x {len(seeds)} seeds + a {len(args.grid)}x{len(args.grid)} grid on two "
        "shared CPU cores; the full matrix would take days here.",
        f"- The split is fixed; seeds {seeds} change weight initialisation and batch order. Every model of a "
        "seed fuses the single-view CNNs of that seed, so rows of one seed are paired.",
        "",
        "## Settings", "",
        f"- Part A: recipes `viewcnn_rna` / `viewcnn_aminoacid` / `viewcnn_dipeptide` (conv 101 x 10, max-pool 3/3/"
        f"none, dense 202, dropout 0.5), Adam lr 1e-3, batch {args.batch_size}, at most {args.max_epochs} epochs, "
        f"early stopping on validation loss (patience {args.patience}), best epoch restored.",
        f"- Part B: recipe `mmfa` restricted to the views of the row (k = 68, λ = {args.lambda_common:g}, "
        f"γ = {args.gamma_private:g}), trained on the frozen CNNs (`fit(stages=['fusion'], init_state=...)`), at "
        f"most {args.fusion_epochs} epochs, same early stopping, watching the validation loss of the prediction "
        "(`l_ml`; the recipe's `monitor`). MMFA-MA: `attention: false`. Extra rows (not in the paper): γ = 0 "
        "(no orthogonality term), and the CNNs trained on with L in the fusion stage (`feature_training: "
        "finetune`).",
        "- Per-label thresholds chosen on the validation split (max F1) and applied to the test split.",
        "- Metrics (rnalabel.engine.metrics): weighted = weighted by each label's test positives; exact match = every "
        "label of a row right; one-error = the top-scored label of a row is not one of its labels (the standard "
        "definition; the paper's formula, 'at least one label wrong', is 1 − exact match).",
        "- The paper's AURA data are not public; its numbers (and rBPDL's) are not comparable to these.",
        "",
        "## Table 1 analogue (test split, mean ± sd over seeds)", "", *head, *body, "",
        "## Does the three-view MMFA beat every single view, every pair and MMFA-MA?", "",
        *claim_lines(table, seeds), "",
    ]
    text += diagnostic_lines(table)
    text += ["## Label imbalance", "", *imbalance_lines(table, info)]
    if args.grid:
        text += [f"## λ / γ grid (seed {seeds[0]}, three-view MMFA, validation split)", "",
                 *grid_lines(done, seeds[0], args.grid)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(text) + "\n")
    path.with_suffix(".json").write_text(json.dumps({"subset": info, "runs": list(done.values())}, indent=1) + "\n")


# main -------------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", required=True, help="the eclip folder (holding eCLIP_Data/)")
    p.add_argument("--out", default="benchmarks/results/mmfa.md", help="Markdown report (and .json beside it)")
    p.add_argument("--work", default="runs/mmfa_ablation", help="trained CNNs and runs.jsonl (for resuming)")
    p.add_argument("--n-sequences", type=int, default=30000, help="stratified subsample size")
    p.add_argument("--subset-seed", type=int, default=0)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--max-epochs", type=int, default=30, help="Part A (single-view CNNs)")
    p.add_argument("--fusion-epochs", type=int, default=20, help="Part B (the paper's 20)")
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lambda-common", type=float, default=1e-3)
    p.add_argument("--gamma-private", type=float, default=1e-4)
    p.add_argument("--grid", type=float, nargs="*", default=[1e-4, 1e-3, 1e-2],
                   help="values of lambda and of gamma for the grid (empty: no grid)")
    p.add_argument("--extras", action=argparse.BooleanOptionalAction, default=True,
                   help="two extra three-view rows, not in the paper: gamma = 0, and CNNs fine-tuned with L")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core machine)")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.StreamHandler(sys.stdout), logging.FileHandler(work / "progress.log")])
    command = "python benchmarks/mmfa_ablation.py " + " ".join(sys.argv[1:] if argv is None else argv)
    t0 = time.perf_counter()
    commit = _git("rev-parse", "HEAD")
    used = ["benchmarks/mmfa_ablation.py", "src/rnalabel"]
    if _git("status", "--porcelain", "--untracked-files=no", "--", *used):
        commit += " (with uncommitted changes to the code it runs)"
    ds, info = load_subset(args.data, args.n_sequences, args.subset_seed)
    log.info("subset: %s", json.dumps(info))
    runs = Runs(work / "runs.jsonl")
    for i, seed in enumerate(args.seeds):
        run_seed(ds, seed, args, runs, work, grid=(i == 0 and bool(args.grid)))
        write_report(Path(args.out), runs, args, info, args.seeds, time.perf_counter() - t0, command,
                     commit)
        log.info("seed %d done; report written to %s", seed, args.out)


if __name__ == "__main__":
    main()
