"""Model-free references for DeepMiRBP: what the AGO sites we hold say about a miRNA (seed-match enrichment),
and what simple features give on the target and source tasks.

DeepMiRBP ranks proteins for a miRNA by how much their binding sites resemble it. For AGO there is a known
mechanism to test that against: an AGO-bound miRNA guides AGO to target sites that pair with its seed (nucleotides
2-8), so AGO CLIP sites should hold the seed's reverse complement more often than other proteins' sites do, and more
often than a composition-matched control's seed. This script measures that directly, as a reference for the AGO
retrieval goal of benchmarks/deepmirbp.py (AGO in the top 3 for >= 90 % of held-out AGO-bound miRNAs): if the
sites themselves carry a miRNA's target signal for only some miRNAs, no site-similarity index can do better on
the others.

Data: every bound site of the 129 experiments (``build_binding_sites(..., positives_only=True)``: 91 eCLIP, 31
RBP-31, 7 DeepMiRBP RBP-Data), and the 399 AGO-bound miRNAs of the DeepMiRBP data with the seed-family split of
``build_mirna_binding`` (so "test families" are the same 71 miRNAs benchmarks/deepmirbp.py holds out). Nothing is
trained, so all 399 are scored as well.

Per experiment j and query miRNA m, for a site kind w(m) (``7mer-m8``: reverse complement of nucleotides 2-8;
``8mer``: the same followed by A; ``miRNA 7-mers``: any 7-mer of the miRNA itself, forward, the mean over them):
f_j(w) = share of j's bound sites that contain w. Scores: raw f_j, or z = (f_j(m) - mean) / sd over 30
dinucleotide shuffles of m (the same composition: a site kind common in AU-rich 3'UTR sites is not credited to the
miRNA). Controls: one dinucleotide shuffle of each miRNA, scored the same way. AGO rank as in deepmirbp.py
(proteins by their best experiment; AGO1-4 not counted against each other).

Target task (AGO-bound miRNA against negatives, the seed-family split of ``build_mirna_binding``, as in
benchmarks/deepmirbp.py section 2): the majority class, and L2 logistic regression (scikit-learn, C = 1) on the
one-hot of the first and last p nucleotides (p = 1, 3, 8), fitted on train + validation, threshold 0.5. The
dinucleotide shuffle keeps the first and last nucleotide and the composition, so with shuffled negatives such
features can tell little; the paper's reversed and reverse-complementary negatives differ at both ends.

Source task (binding vs non-binding, the data and split of benchmarks/deepmirbp.py section 1 at the same
``--max-per-class``): L2 logistic regression (scikit-learn, C = 1, standardised features) on k-mer frequencies
(k = 1-4, 340 features) and the log length, fitted on train, threshold of maximal F1 on validation (as the
deep models' thresholds are chosen), scored on test. Binary: one model over every pooled site (a site bound in
any experiment is bound), with test AUROC overall and per source. Multi-task: one model per experiment, each
(site, experiment) cell at that experiment's threshold, as deepmirbp.py counts its multi-task row. It tells how
much of the pooled task simple composition solves, and whether pooling the experiments is what makes it hard.

Usage::

    python benchmarks/deepmirbp_reference.py --data ../shared/data --out benchmarks/results/deepmirbp_reference.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deepmirbp import AGO, ago_ranks, binary_metrics  # noqa: E402
from rbp31 import git_commit, peak_rss_mb, write_result  # noqa: E402

from rnalabel.data.sequence import decode, encode, reverse_complement  # noqa: E402
from rnalabel.data.shuffle import shuffle_tokens  # noqa: E402
from rnalabel.engine.metrics import choose_thresholds  # noqa: E402
from rnalabel.engine.similarity import kmer_presence  # noqa: E402
from rnalabel.io.binding_sites import build_binding_sites, build_mirna_binding, collapse_bound  # noqa: E402
from rnalabel.views.kmer import kmer_profile  # noqa: E402

KINDS = ("7mer-m8", "8mer", "miRNA 7-mers")


def code_of(word: str) -> int:
    c = 0
    for ch in word:
        c = c * 4 + "ACGU".index(ch)
    return c


def words(mirna: str, kind: str) -> list[str]:
    if kind == "7mer-m8":
        return [reverse_complement(mirna[1:8])]
    if kind == "8mer":
        return [reverse_complement(mirna[1:8]) + "A"]
    return [mirna[i:i + 7] for i in range(len(mirna) - 6)]


def shuffles(seq: str, n: int, seed: int) -> list[str]:
    t = shuffle_tokens(encode(seq)[None], np.array([len(seq)]), n=n, seed=seed)
    return [decode(t[r, 0], len(seq)) for r in range(n)]


def end_features(tokens: np.ndarray, lengths: np.ndarray, p: int) -> np.ndarray:
    """One-hot (A, C, G, U; N as zeros) of the first ``p`` and the last ``p`` nucleotides of every sequence."""
    eye = np.eye(5, dtype=np.float32)[:, :4]
    out = []
    for t, n in zip(tokens, lengths, strict=True):
        t = t[:n]
        out.append(np.concatenate([eye[t[:p]].ravel(), eye[t[n - p:][::-1]].ravel()]))
    return np.array(out)


def target_baselines(mir_dir: Path, seed: int) -> list[tuple]:
    """(negatives, method, acc, prec, rec, F1, n) on the test families."""
    from sklearn.linear_model import LogisticRegression

    rows = []
    for neg in ("shuffled", "paper"):
        ds = build_mirna_binding(mir_dir, negatives=neg, seed=seed)
        y = ds.labels[:, 0]
        tr, te = ds.split != "test", ds.split == "test"
        majority = float(np.mean(y[tr]) >= 0.5)
        rows.append((neg, "majority class", *binary_metrics(y[te], np.full(int(te.sum()), majority), 0.5)))
        for p in (1, 3, 8):
            x = end_features(ds.tokens, ds.lengths, p)
            m = LogisticRegression(C=1.0, max_iter=2000).fit(x[tr], y[tr])
            rows.append((neg, f"logistic regression, first and last {p} nt",
                         *binary_metrics(y[te], m.predict_proba(x[te])[:, 1], 0.5)))
    return rows


def source_baselines(data: Path, max_per_class: int, seed: int) -> dict:
    """Binary and per-experiment k-mer logistic regression on the pooled source task (module docstring)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    sites = build_binding_sites(data, max_per_class=max_per_class, seed=seed)
    binary = collapse_bound(sites)
    x = np.concatenate([kmer_profile(sites.tokens, sites.lengths, (1, 2, 3, 4)),
                        np.log(np.maximum(sites.lengths, 1))[:, None]], axis=1)
    split = sites.split
    info = sites.provenance["label_info"]
    known = ~np.isnan(sites.labels)
    out = {"n": len(sites), "n_exp": sites.n_labels,
           "conflicting": int(np.sum(np.any(sites.labels == 1, axis=1) & np.any(sites.labels == 0, axis=1)))}

    def fit_predict(rows: np.ndarray, y: np.ndarray):
        m = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        tr = rows & (split == "train")
        m.fit(x[tr], y[tr])
        return m.predict_proba(x)[:, 1]

    y = binary.labels[:, 0]
    has = ~np.isnan(y)
    s = fit_predict(has, np.nan_to_num(y))
    va, te = has & (split == "val"), has & (split == "test")
    thr = float(choose_thresholds(y[va, None], s[va, None])[0])
    out["binary"] = (*binary_metrics(y[te], s[te], thr), float(roc_auc_score(y[te], s[te])))
    per_source = {}
    for src in sorted({v["source"] for v in info.values()}):
        cols = [j for j, e in enumerate(sites.label_names) if info[e]["source"] == src]
        rows = te & known[:, cols].any(axis=1)
        per_source[src] = (float(roc_auc_score(y[rows], s[rows])), int(rows.sum()))
    out["per_source"] = per_source
    # the pooled model's ranking within each experiment, against one model per experiment
    cells_y, cells_s, within, own = [], [], [], []
    for j in range(sites.n_labels):
        yj = sites.labels[:, j]
        kj = known[:, j]
        if len(np.unique(yj[kj & (split == "train")])) < 2 or len(np.unique(yj[kj & te])) < 2:
            continue
        sj = fit_predict(kj, np.nan_to_num(yj))
        vj, tj = kj & (split == "val"), kj & te
        tj_thr = float(choose_thresholds(yj[vj, None], sj[vj, None])[0])
        cells_y.append(yj[tj])
        cells_s.append(sj[tj] - tj_thr + 0.5)
        own.append(float(roc_auc_score(yj[tj], sj[tj])))
        within.append(float(roc_auc_score(yj[tj], s[tj])))
    out["multitask"] = binary_metrics(np.concatenate(cells_y), np.concatenate(cells_s), 0.5)
    out["auc_own"], out["auc_within"], out["n_auc"] = float(np.mean(own)), float(np.mean(within)), len(own)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="benchmarks/results/deepmirbp_reference.md")
    ap.add_argument("--n-shuffles", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-per-class", type=int, default=300,
                    help="source-task sites per experiment and class, as benchmarks/deepmirbp.py was run")
    args = ap.parse_args()
    t0, commit = time.perf_counter(), git_commit()
    data = Path(args.data)
    pos = build_binding_sites(data, positives_only=True, seed=args.seed)
    bound = pos.labels == 1
    info = pos.provenance["label_info"]
    exps = list(pos.label_names)
    proteins = {e: list(info[e]["proteins"]) for e in exps}
    is_ago = np.array([bool(set(proteins[e]) & AGO) for e in exps])
    tables = {7: kmer_presence(pos.tokens, bound, 7), 8: kmer_presence(pos.tokens, bound, 8)}
    print(f"[{time.perf_counter() - t0:.0f} s] {len(pos)} bound sequences, {int(bound.sum())} sites, "
          f"{len(exps)} experiments ({int(is_ago.sum())} AGO)", flush=True)

    mir = build_mirna_binding(data / "deepmirbp" / "Data" / "miRNA", negatives="shuffled", seed=args.seed)
    p = mir.subset(np.flatnonzero(mir.labels[:, 0] == 1))
    seqs = [decode(p.tokens[i], int(p.lengths[i])) for i in range(len(p))]
    test = p.split == "test"

    def score(seq: str, kind: str) -> np.ndarray:
        ws = words(seq, kind)
        table = tables[len(ws[0])]
        return np.mean([table[code_of(w)] for w in ws], axis=0)

    results, enrich = [], {}
    for kind in KINDS:
        sc = {"miRNA": [], "shuffled": []}
        zs = {"miRNA": [], "shuffled": []}
        for i, m in enumerate(seqs):
            for who, q in (("miRNA", m), ("shuffled", shuffles(m, 1, 10_000 + i)[0])):
                s = score(q, kind)
                ctrl = np.stack([score(c, kind) for c in shuffles(q, args.n_shuffles, i)])
                sc[who].append(s)
                zs[who].append((s - ctrl.mean(axis=0)) / np.maximum(ctrl.std(axis=0), 1e-4))
        for who in sc:
            sc[who], zs[who] = np.array(sc[who]), np.array(zs[who])
        for subset, mask in (("test families", test), ("all 399", np.ones(len(seqs), bool))):
            for how, table in (("z vs 30 shuffles", zs), ("raw share", sc)):
                a = ago_ranks(table["miRNA"][mask], exps, proteins)
                b = ago_ranks(table["shuffled"][mask], exps, proteins)
                results.append((kind, subset, how, int(mask.sum()), a, b))
        high = {who: zs[who][:, is_ago] > 2 for who in zs}
        enrich[kind] = (np.median(zs["miRNA"][:, is_ago], axis=0), np.median(zs["miRNA"][:, ~is_ago]),
                        high["miRNA"].mean(axis=0), high["shuffled"].mean(axis=0),
                        float(high["miRNA"].any(axis=1).mean()), float(high["shuffled"].any(axis=1).mean()))
        print(f"[{time.perf_counter() - t0:.0f} s] {kind} done", flush=True)

    target = target_baselines(data / "deepmirbp" / "Data" / "miRNA", args.seed)
    source = source_baselines(data, args.max_per_class, args.seed)
    print(f"[{time.perf_counter() - t0:.0f} s] source baselines done", flush=True)
    n_prot = len({q for ps in proteins.values() for q in ps if q not in AGO}) + 1
    lines = ["# DeepMiRBP references without a deep model: seed matches in the AGO sites, simple target and "
             "source baselines", "",
             "What `benchmarks/deepmirbp_reference.py` measured (protocol in its docstring): whether the bound "
             "sites of our AGO experiments hold a miRNA's seed match more often than other proteins' sites and "
             "than composition-matched controls' seed matches. It bounds what a site-similarity index such as "
             "DeepMiRBP's can retrieve for AGO on these data.", "",
             f"{int(bound.sum()):,} sites ({len(pos):,} bound sequences) in {len(exps)} experiments, "
             f"{int(is_ago.sum())} of them AGO ({', '.join(e for e, a in zip(exps, is_ago, strict=True) if a)}); "
             f"{len(seqs)} AGO-bound miRNAs, {int(test.sum())} in the test families of benchmarks/deepmirbp.py; "
             f"{n_prot} proteins once AGO1-4 count as one, so a random ranking puts AGO in the top 3 for "
             f"{3 / n_prot:.1%} of queries.", "",
             "## 1. AGO retrieval by seed match", "",
             "| site kind | miRNAs | n | score | miRNA AGO rank 1 | miRNA AGO top 3 | miRNA AGO experiment top 3 | "
             "shuffled AGO rank 1 | shuffled AGO top 3 | median AGO rank (miRNA / shuffled) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for kind, subset, how, n, a, b in results:
        lines.append(f"| {kind} | {subset} | {n} | {how} | {a['rank1']:.2f} | {a['top3']:.2f} | {a['exp_top3']:.2f} "
                     f"| {b['rank1']:.2f} | {b['top3']:.2f} | {a['median_rank']:.0f} / {b['median_rank']:.0f} |")
    lines += ["", "## 2. Per AGO experiment: how often a miRNA's site kind is enriched (all 399 miRNAs)", "",
              "z of the miRNA's site kind against 30 shuffles of the miRNA, per AGO experiment: the median over "
              "miRNAs, and the share of miRNAs (and of their shuffles) with z > 2. The median z of the non-AGO "
              "experiments is given for comparison.", "",
              "| site kind | experiment | median z | miRNAs z > 2 | shuffles z > 2 |", "|---|---|---|---|---|"]
    for kind, (med, med_other, hi, hi_s, any_m, any_s) in enrich.items():
        for e, m_, h, hs in zip([e for e, a in zip(exps, is_ago, strict=True) if a], med, hi, hi_s, strict=True):
            lines.append(f"| {kind} | {e} | {m_:.2f} | {h:.2f} | {hs:.2f} |")
        lines.append(f"| {kind} | (non-AGO experiments, median) | {med_other:.2f} | | |")
        lines.append(f"| {kind} | (any AGO experiment) | | {any_m:.2f} | {any_s:.2f} |")
    lines += ["", "## 3. Target task: simple features (test families)", "",
              "Same split and negatives as benchmarks/deepmirbp.py section 2; compare with its rows.", "",
              "| negatives | method | accuracy | precision | recall | F1 | n |", "|---|---|---|---|---|---|---|"]
    for neg, how, *m in target:
        lines.append(f"| {neg} | {how} | {' | '.join(f'{x:.3f}' for x in m[:4])} | {m[4]} |")
    b, mt = source["binary"], source["multitask"]
    lines += ["", "## 4. Source task: simple features (test split)", "",
              f"The data of benchmarks/deepmirbp.py section 1 at --max-per-class {args.max_per_class}: "
              f"{source['n']:,} sequences in {source['n_exp']} experiments, {source['conflicting']:,} of them "
              "listed as bound by one experiment and as unbound by another (bound in the binary task). "
              "k-mer (1-4) frequencies + log length, logistic regression, threshold of maximal F1 on validation; "
              "compare with deepmirbp.py's source rows.", "",
              "| task | method | accuracy | precision | recall | F1 | n test cells | AUROC |",
              "|---|---|---|---|---|---|---|---|",
              f"| binary | k-mer logistic regression | {' | '.join(f'{v:.3f}' for v in b[:4])} | {b[4]} | {b[5]:.3f} |",
              f"| multi-task | k-mer logistic regression per experiment | "
              f"{' | '.join(f'{v:.3f}' for v in mt[:4])} | {mt[4]} | {source['auc_own']:.3f} (mean of "
              f"{source['n_auc']}) |", "",
              "Binary model's test AUROC by the source of the site's experiments: "
              + "; ".join(f"{k} {a:.3f} (n {n:,})" for k, (a, n) in source["per_source"].items())
              + f". Within each experiment (its own bound vs unbound test sites), the pooled binary model ranks "
              f"at a mean AUROC of {source['auc_within']:.3f}, one model per experiment at {source['auc_own']:.3f}."]
    lines += ["", f"Peak RSS {peak_rss_mb():.0f} MB."]
    write_result(args.out, lines, commit, t0)


if __name__ == "__main__":
    main()
