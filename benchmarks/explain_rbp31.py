"""Explain on real data: do attributions of Multi-resBind models trained on RBP-31 recover the published motifs?

For each chosen RBP-31 experiment (default: PUM2 = 23, QKI = 24, ELAVL1 = 8, 10, 11) a sequence-only Multi-resBind
model is trained on the published training part (10 % of it held out for early stopping and thresholds), or
loaded from ``--runs`` when a previous run left it there. On the published test part, the positives (label 1 and
predicted at or above the model's threshold; the best ``--max-positives`` by score) are explained with integrated
gradients against the paper's baseline, the mean of the 2000 lowest-scoring test windows; seqlets of the
attributions are clustered into motifs and the motifs are compared with the published table
(:data:`rnalabel.data.published_motifs.PUBLISHED_MOTIFS`). The zero and dinucleotide-shuffle baselines are run as well, on
fewer windows, for comparison (the paper's Fig. S4 compares zero with low-score).

Expected (the issue's check): UGUAHAUA for PUM2, ACUAAY for QKI, a U-rich motif for ELAVL1 (HuR).

The report (``--out``, Markdown) embeds the motif logos and the attribution maps of the three best-scoring test
sequences of each experiment (PNG files, with ``motifs.tsv`` and ``motifs.meme``, under ``<out stem>/``), with
the exact command and the git commit. The full output of ``rnalabel explain`` (with the per-nucleotide tables,
which hold test sequences) stays under ``--runs``, outside the repository.

Usage::

    nice -n 10 python benchmarks/explain_rbp31.py --data ../shared/data/rbp31 --out benchmarks/results/explain.md
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

#: what each experiment should give, by the published motif table's RBP names
EXPECTED = {"PUM2": ("PUM2",), "QKI": ("QKI",), "ELAVL1": ("ELAVL1", "TIA1", "HNRNPC")}
U_RICH = {"ELAVL1", "TIA1", "HNRNPC"}


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "benchmarks/explain_rbp31.py"],
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def protein(label: str) -> str:
    """RBP of an RBP-31 label (``23_PARCLIP_PUM2`` -> ``PUM2``, ``10_PARCLIP_ELAVL1A`` -> ``ELAVL1``)."""
    name = label.split("_")[-1].upper()
    for rbp in EXPECTED:
        if name.startswith(rbp):
            return rbp
    return name


def u_fraction(pwm: np.ndarray) -> float:
    return float(pwm[:, 3].mean())


def recovered(rbp: str, motif) -> bool:
    """Does a discovered motif match what is published for ``rbp``?"""
    best = motif.best_match
    if best is None:
        return False
    if rbp == "ELAVL1":  # U-rich: best match among the U-rich motifs and mostly U
        return best.rbp in U_RICH and u_fraction(motif.pwm) >= 0.5 and best.score >= 0.5
    return best.rbp == rbp and best.score >= 0.85


def get_model(ds, folder: str, args, log):
    from rnalabel.engine.bundle import load_model
    from rnalabel.runs import train_run

    run = Path(args.runs) / folder
    if (run / "card.json").exists() and not args.retrain:
        log(f"{folder}: loading the model from {run}")
        return load_model(run), None
    log(f"{folder}: training multiresbind on {int(np.sum(ds.split == 'train'))} sequences")
    t0 = time.perf_counter()
    model, report = train_run(ds, "multiresbind", run, progress=False, device="cpu", max_epochs=args.epochs,
                              seed=0)
    log(f"{folder}: trained in {time.perf_counter() - t0:.0f} s, {len(report.history)} epochs, "
        f"test AUROC {report.test.averages['auroc_macro']:.3f}")
    return model, report


def run_experiment(experiment: str, args, log) -> dict:
    from rnalabel.engine.predict import predict
    from rnalabel.explain import AttributionWarning, explain, write_explanation
    from rnalabel.io.benchmark_sets import load_rbp31_experiment

    ds = load_rbp31_experiment(args.data, experiment)
    folder = str(ds.provenance.get("folder", ds.label_names[0]))
    label = ds.label_names[0]
    rbp = protein(label)
    model, _ = get_model(ds, label, args, log)
    test = ds.select_split("test")
    auroc = model.card.get("metrics", {}).get("test", {}).get("averages", {}).get("auroc_macro")
    if auroc is None:
        from sklearn.metrics import roc_auc_score

        auroc = float(roc_auc_score(test.labels[:, 0], predict(model, test, progress=False).scores[:, 0]))
    out_dir = Path(args.out).with_suffix("") / label
    rows = []
    for baseline, n_pos in (("low-score", args.max_positives), ("zero", args.max_positives_other),
                            ("shuffle", args.max_positives_other)):
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AttributionWarning)
            res = explain(model, test, label=label, top=3, baseline=baseline, reference=test, n_low=2000,
                          n_shuffles=args.n_shuffles, steps=args.steps, max_positives=n_pos,
                          ism=baseline == "low-score", progress=False)[label]
        secs = time.perf_counter() - t0
        for w in caught:
            log(f"{label} [{baseline}] warning: {w.message}")
        if baseline == "low-score":
            # everything under --runs; only figures and motif files (no sequence tables) go into the results
            full = Path(args.runs) / "explain"
            write_explanation({label: res}, full, summary=False)
            out_dir.mkdir(parents=True, exist_ok=True)
            for f in (full / label).iterdir():
                if f.name.startswith(("map_", "ism_1_", "motifs.")):  # what the report shows, and the motifs
                    shutil.copyfile(f, out_dir / f.name)
        a = res.attributions
        motifs = [{
            "consensus": m.consensus, "n_seqlets": m.n_seqlets, "n_windows": m.n_windows,
            "best": m.best_match.rbp, "best_consensus": m.best_match.consensus,
            "similarity": round(m.best_match.score, 3), "u_fraction": round(u_fraction(m.pwm), 2),
            "recovered": recovered(rbp, m),
            "expected_similarity": round(next((x.score for x in m.matches if x.rbp == rbp), float("nan")), 3),
        } for m in res.motifs]
        first = next((i + 1 for i, m in enumerate(res.motifs) if recovered(rbp, m)), None)
        rows.append({
            "baseline": baseline, "windows": len(a), "positives": res.n_positive, "seconds": round(secs, 1),
            "gap_median": float(np.median(a.relative_delta)), "gap_max": float(a.relative_delta.max()),
            "ism_agreement": [round(float(x), 3) for x in res.ism_agreement],
            "motifs": motifs, "first_recovered_rank": first,
        })
        top = motifs[0] if motifs else None
        log(f"{label} [{baseline}] {len(a)} windows in {secs:.0f} s; top motif "
            f"{top['consensus'] if top else '-'} ~ {top['best'] if top else '-'} "
            f"({top['similarity'] if top else '-'}); first recovered at rank {first}")
    return {"experiment": folder, "label": label, "rbp": rbp, "auroc": auroc, "baselines": rows}


def report(results: list[dict], args, seconds: float) -> str:
    stem = Path(args.out).with_suffix("").name
    cmd = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    lines = [
        "# Explain on RBP-31: are the published motifs recovered?", "",
        "Sequence-only Multi-resBind per experiment (trained on the published training part), integrated gradients "
        f"({args.steps} steps) on the test positives (label 1, predicted above the model's threshold; the 3 best "
        f"and a seeded random sample of the others, {args.max_positives} in all) against the paper's baseline, the mean of the 2000 lowest-scoring test "
        "windows; seqlets (8 nt, up to 2 per window) clustered into motifs (seed-and-refine), each compared with "
        "the published table by column Pearson correlation (1 = the whole shorter motif matches). A motif counts "
        "as recovered when its best match is the experiment's RBP with similarity >= 0.85 (a UA repeat scores "
        "about 0.8 against UGUAHAUA, so the bar is set above that); for ELAVL1 (HuR) when "
        "it is U-rich: best match among ELAVL1/TIA1/HNRNPC with similarity >= 0.5 and U in at least half of it.",
        "", "## Recovered motifs (low-score baseline)", "",
        "| experiment | test AUROC | windows | top motif | seqlets (windows) | best published match | similarity | "
        "expected | similarity to the expected RBP's entry | recovered |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        b = r["baselines"][0]
        m = b["motifs"][0] if b["motifs"] else None
        exp = {"PUM2": "UGUAHAUA", "QKI": "ACUAAY", "ELAVL1": "U-rich (table: AUUUAUUUA)"}.get(r["rbp"], "?")
        lines.append(
            f"| {r['label']} | {r['auroc']:.3f} | {b['windows']} | {m['consensus'] if m else '-'} | "
            f"{m['n_seqlets'] if m else '-'} ({m['n_windows'] if m else '-'}) | "
            f"{m['best'] + ' ' + m['best_consensus'] if m else '-'} | "
            f"{m['similarity'] if m else '-'} | {exp} | {m.get('expected_similarity', '-') if m else '-'} | "
            f"{'yes' if b['first_recovered_rank'] == 1 else ('rank ' + str(b['first_recovered_rank']) if b['first_recovered_rank'] else 'no')} |"
        )
    lines += ["", "## Baselines compared (top motif per baseline)", "",
              "| experiment | baseline | windows | completeness gap median / max | top motif | best match (similarity) "
              "| first recovered rank | seconds |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        for b in r["baselines"]:
            m = b["motifs"][0] if b["motifs"] else None
            lines.append(
                f"| {r['label']} | {b['baseline']} | {b['windows']} | {100 * b['gap_median']:.1f}% / "
                f"{100 * b['gap_max']:.1f}% | {m['consensus'] if m else '-'} | "
                f"{(m['best'] + ' (' + str(m['similarity']) + ')') if m else '-'} | {b['first_recovered_rank']} | "
                f"{b['seconds']} |")
    lines += ["", "## Reading", ""]
    for r in results:
        b = r["baselines"][0]
        m = b["motifs"][0] if b["motifs"] else None
        if m is None:
            lines.append(f"- {r['label']}: no motif found.")
            continue
        verdict = "recovered" if b["first_recovered_rank"] == 1 else "not recovered as the top motif"
        lines.append(
            f"- {r['label']}: {verdict}. The top motif {m['consensus']} is in {m['n_windows']} of the "
            f"{b['windows']} attributed positive windows; best table match {m['best']} {m['best_consensus']} "
            f"({m['similarity']}), similarity to the {r['rbp']} entry {m['expected_similarity']}; with the other "
            "baselines: " + ", ".join(
                f"{x['baseline']} {x['motifs'][0]['consensus'] if x['motifs'] else '-'}" for x in r["baselines"][1:])
            + ".")
    gaps = {x["baseline"]: max(r2["gap_max"] for r2 in [y for rr in results for y in rr["baselines"]
                                                         if y["baseline"] == x["baseline"]])
            for x in results[0]["baselines"]} if results else {}
    lines += [
        "- ELAVL1 (HuR): the table's ELAVL1 entry is the AU-rich element AUUUAUUUA, while PAR-CLIP and CLIP-seq HuR "
        "sites are mostly U-rich (Mukherjee et al. 2011, Lebedeva et al. 2011); U runs match the table's poly-U "
        "entries (TIA1, HNRNPC) best, so the ELAVL1 check is U-richness, as the issue states it.",
        "- Completeness (sum of attributions against f(x) - f(x')), worst window over all experiments: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in gaps.items())
        + ". The low-score baseline lies near the data and converges at 50 steps; from the zero input and from "
        "shuffles the straight path crosses many ReLU kinks and a few windows converge slowly (medians stay near "
        "1%), without changing the motifs.",
        "- The best-scoring windows of these CLIP sets are often low-complexity repeats (UA repeats for PUM2); "
        "motifs come from a seeded random sample of the positives, and the maps below show the 3 best windows.",
    ]
    for r in results:
        d = f"{stem}/{r['label']}"
        b = r["baselines"][0]
        lines += ["", f"## {r['label']}", "", "All motifs (low-score baseline):", "",
                  "| rank | consensus | seqlets | windows | best match | similarity | U fraction |",
                  "|---|---|---|---|---|---|---|"]
        for i, m in enumerate(b["motifs"], 1):
            lines.append(f"| {i} | {m['consensus']} | {m['n_seqlets']} | {m['n_windows']} | {m['best']} "
                         f"{m['best_consensus']} | {m['similarity']} | {m['u_fraction']} |")
        lines += ["", f"![motifs of {r['label']}]({d}/motifs.png)", "",
                  "Attribution maps of the best-scoring test sequences (IG, low-score baseline) and the same "
                  f"sequence by in-silico mutagenesis (IG vs ISM Pearson r per map: {b['ism_agreement']}):", ""]
        out_dir = Path(args.out).with_suffix("") / r["label"]
        for p in sorted(out_dir.glob("map_*.png"))[:3]:
            lines.append(f"![{p.stem}]({d}/{p.name})")
        for p in sorted(out_dir.glob("ism_*.png"))[:1]:
            lines.append(f"![{p.stem}]({d}/{p.name})")
    trained = []
    for r in results:
        card = Path(args.runs) / r["label"] / "card.json"
        if card.exists():
            t = json.loads(card.read_text()).get("training", {})
            trained.append(f"{r['label']} {t.get('seconds', 0) / 60:.1f} min ({t.get('epochs_run')} epochs, best "
                           f"{t.get('best_epoch')})")
    lines += ["", "## Provenance", "", f"- command: `{cmd}`", f"- commit: {git_commit()}",
              f"- wall time of this invocation: {seconds / 60:.1f} min on this machine (CPU, {args.threads} torch "
              f"thread(s), nice 10); experiments already in `{args.runs}/explain_results.json` are not redone",
              f"- models: `{args.runs}/<experiment>`, Multi-resBind recipe, max_epochs={args.epochs}; training "
              "time: " + ("; ".join(trained) or "-"),
              "- explain time per experiment and baseline: the seconds column above", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/rbp31", help="The rbp31 folder.")
    ap.add_argument("--out", default="benchmarks/results/explain.md")
    ap.add_argument("--runs", default="runs/explain_rbp31", help="Where models are trained to / loaded from.")
    ap.add_argument("--experiments", nargs="+", default=["23", "24", "8", "10", "11"],
                    help="PUM2, QKI and the three ELAVL1 experiments by default.")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--max-positives", type=int, default=1000)
    ap.add_argument("--max-positives-other", type=int, default=300, help="For the zero and shuffle baselines.")
    ap.add_argument("--n-shuffles", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--retrain", action="store_true")
    args = ap.parse_args(argv)

    import torch

    from rnalabel.data import write_text_atomic

    torch.set_num_threads(args.threads)
    if not Path(args.data).is_dir():
        print(f"{args.data} is not there; nothing to do.", file=sys.stderr)
        return 0
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:7.0f} s] {msg}", flush=True)

    cache = Path(args.runs) / "explain_results.json"
    done = json.loads(cache.read_text()) if cache.exists() and not args.retrain else {}
    results = []
    for exp in args.experiments:
        if exp in done:
            log(f"{exp}: cached result")
        else:
            done[exp] = run_experiment(exp, args, log)
            cache.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(cache, json.dumps(done, indent=2))
        results.append(done[exp])
    write_text_atomic(args.out, report(results, args, time.perf_counter() - t0))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
