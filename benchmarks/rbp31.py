"""RBP-31 (iONMF CLIP benchmark): rnalabel against the published systems, same data, same split.

Each of the 31 experiments has a published training part (``training_sample_0``, 30,000 sequences) and test part
(``test_sample_0``, 10,000). Every arm trains on the training part only; 10 % of it (stratified, seeded) is held
out for early stopping and threshold choice, and the test part is touched once, for the final AUC. Arms:

* ``multitask``: one model with 31 outputs over all experiments (labels unknown where an experiment did not
  assay a sequence are masked in the loss). Training rows whose sequence occurs in any experiment's test part
  are dropped (``build_rbp31_multitask(cross_split="drop_train")``), so no test sequence is ever trained on.
* ``single``: the same architecture trained per experiment (31 models).
* ``deepbind``: the DeepBind-style baseline per experiment.
* ``deepmirbp``: the DeepMiRBP architecture (recipe ``deepmirbp``: embedding 128 -> BiLSTM -> attention, focal
  loss with class weights) per experiment, in fp32 (a BiLSTM gains nothing from emulated bf16 on a CPU).

Results are cached per (arm, experiment) as JSON in ``--work`` so an interrupted run resumes. The report
(``--out``) holds the per-experiment table beside every published column, the means, where we still lose to the
best published value, wall times, peak memory, the exact command and the git commit.

Usage::

    python benchmarks/rbp31.py --data ../shared/data/rbp31 --out benchmarks/results/rbp31.md
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

#: Table 3 of the DeepMiRBP paper (which takes the other columns from the iDeepS paper); test AUC, row = experiment
PUBLISHED_COLUMNS = ["DeepMiRBP", "iDeepS", "DeepBind", "DeeperBind", "Oli", "iDeepV", "GraphProt"]
PUBLISHED = {
    1: ("Ago/EIF", [0.695, 0.773, 0.713, 0.740, 0.610, 0.732, 0.691]),
    2: ("Ago2-MNase", [0.898, 0.591, 0.595, 0.606, 0.512, 0.571, 0.595]),
    3: ("Ago2-1", [0.799, 0.865, 0.849, 0.857, 0.803, 0.844, 0.817]),
    4: ("Ago2-2", [0.796, 0.868, 0.830, 0.868, 0.800, 0.832, 0.823]),
    5: ("Ago2", [0.680, 0.634, 0.628, 0.630, 0.534, 0.615, 0.633]),
    6: ("eIF4AIII-1", [0.779, 0.950, 0.938, 0.950, 0.919, 0.943, 0.918]),
    7: ("eIF4AIII-2", [0.843, 0.953, 0.950, 0.954, 0.929, 0.942, 0.931]),
    8: ("ELAVL1-1", [0.935, 0.932, 0.924, 0.930, 0.889, 0.912, 0.915]),
    9: ("ELAVL1-MNase", [0.811, 0.600, 0.613, 0.614, 0.491, 0.590, 0.591]),
    10: ("ELAVL1A", [0.897, 0.893, 0.886, 0.893, 0.843, 0.891, 0.867]),
    11: ("ELAVL1-2", [0.952, 0.919, 0.914, 0.919, 0.875, 0.922, 0.895]),
    12: ("EWSR1", [0.932, 0.917, 0.912, 0.915, 0.808, 0.900, 0.840]),
    13: ("FUS", [0.894, 0.934, 0.942, 0.939, 0.846, 0.931, 0.860]),
    14: ("Mut FUS", [0.979, 0.958, 0.953, 0.957, 0.822, 0.950, 0.853]),
    15: ("IGF2BP1-3", [0.967, 0.717, 0.702, 0.713, 0.569, 0.661, 0.697]),
    16: ("hnRNPC-1", [0.953, 0.960, 0.957, 0.959, 0.885, 0.955, 0.930]),
    17: ("hnRNPC-2", [0.971, 0.975, 0.973, 0.976, 0.941, 0.970, 0.953]),
    18: ("hnRNPL-1", [0.756, 0.756, 0.771, 0.746, 0.392, 0.761, 0.698]),
    19: ("hnRNPL-2", [0.678, 0.747, 0.769, 0.746, 0.474, 0.750, 0.708]),
    20: ("hnRNPL-like", [0.738, 0.708, 0.711, 0.679, 0.562, 0.700, 0.650]),
    21: ("MOV10", [0.789, 0.813, 0.804, 0.812, 0.783, 0.771, 0.803]),
    22: ("Nsun2", [0.899, 0.835, 0.803, 0.801, 0.754, 0.850, 0.779]),
    23: ("PUM2", [0.934, 0.962, 0.950, 0.955, 0.939, 0.954, 0.914]),
    24: ("QKI", [0.969, 0.966, 0.962, 0.961, 0.924, 0.966, 0.932]),
    25: ("SRSF1", [0.742, 0.887, 0.874, 0.875, 0.839, 0.864, 0.838]),
    26: ("TAF15", [0.981, 0.964, 0.956, 0.963, 0.804, 0.951, 0.850]),
    27: ("TDP-43", [0.856, 0.930, 0.926, 0.930, 0.883, 0.911, 0.907]),
    28: ("TIA1", [0.931, 0.930, 0.924, 0.926, 0.842, 0.922, 0.896]),
    29: ("TIAL1", [0.898, 0.893, 0.888, 0.895, 0.831, 0.614, 0.858]),
    30: ("U2AF2", [0.930, 0.953, 0.941, 0.945, 0.861, 0.946, 0.873]),
    31: ("U2AF2(KD)", [0.935, 0.931, 0.923, 0.930, 0.840, 0.926, 0.883]),
}

ARMS = ("multitask", "single", "deepbind", "deepmirbp")


def reproduce_footer(commit: str, t0: float) -> list[str]:
    """The "Reproduce" section every result file ends with: the command line, the commit the run started at, the
    wall time and the date."""
    cmd = " ".join(shlex.quote(x) for x in [Path(sys.executable).name, *sys.argv])
    return ["", "## Reproduce", "", "```", cmd, "```", "",
            f"Git commit `{commit}` (at the start of the run); {(time.perf_counter() - t0) / 60:.1f} min; "
            f"{time.strftime('%Y-%m-%d %H:%M')}.", ""]


def write_result(out, lines: list[str], commit: str, t0: float) -> None:
    """Write a result file: ``lines`` and the :func:`reproduce_footer`, creating its folder."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join([*lines, *reproduce_footer(commit, t0)]))
    print(f"wrote {out}")


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True).stdout.strip()
        return out.stdout.strip() + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def trained_seconds(history: list[dict]) -> float:
    """Training time of a run that may have been resumed: per process that trained, the seconds at its last
    finished epoch (history "seconds" count from each process's start, so they drop where a resume began; the
    part-epoch a killed process lost is not counted)."""
    secs = [h.get("seconds", 0.0) for h in history]
    return sum(a for a, b in zip(secs, secs[1:] + [0.0], strict=True) if b < a)


def precision_used(args) -> str:
    """The precision ``--precision`` means here ("auto": bf16-mixed where the CPU/GPU has native bf16, else 32;
    emulated bf16 on a CPU without it trains about 13x slower than fp32)."""
    from rnalabel._runtime import resolve_device, resolve_precision

    used = resolve_precision(args.precision, resolve_device(args.device))
    return used if used == args.precision else f"{used} (asked: {args.precision})"


def arm_precision(arm: str, res: dict[str, dict], imported: dict[str, dict]) -> str:
    """The precision an arm's results were trained in, as recorded with them ("not recorded" in results written
    before the key existed)."""
    if arm in imported:
        return imported[arm]["precision"] or "not stated in its report"
    found = sorted({str(r.get("precision", "not recorded")) for r in res.values()})
    return " / ".join(found)


def resolved(rec, args) -> str:
    """The precision a recipe's fit really ran in on this machine ("auto" resolved)."""
    from rnalabel._runtime import resolve_device, resolve_precision

    return resolve_precision(rec.train.precision, resolve_device(args.device))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def number(folder: str) -> int:
    return int(folder.split("_", 1)[0])


def arm_recipe(arm: str, args):
    from rnalabel.engine.recipe import load_recipe

    name = {"multitask": args.recipe_multitask, "single": args.recipe_single, "deepbind": args.recipe_deepbind,
            "deepmirbp": args.recipe_deepmirbp}[arm]
    rec = load_recipe(name)
    over = {"precision": args.precision if arm != "deepmirbp" else "32", "seed": args.seed}
    if args.max_epochs:
        over["max_epochs"] = args.max_epochs
    if args.patience:
        over["patience"] = args.patience
    if args.batch_size:
        over["batch_size"] = args.batch_size
    return rec.with_train(**over)


def summarise(report, label: str) -> dict:
    t = report.test.per_label[label]
    v = report.val.per_label[label]
    return {
        "test_auc": t["auroc"], "test_ap": t["ap"], "val_auc": v["auroc"], "val_ap": v["ap"],
        "best_epoch": report.best_epoch, "epochs": len(report.history),
        "train_seconds": report.train_seconds, "seconds": report.seconds,
        "n_train": report.n_train, "n_val": report.n_val, "n_test": report.n_test,
        "rss_mb_per_epoch": [h.get("rss_mb") for h in report.history],
        "history": [{k: h[k] for k in ("epoch", "train_loss", "val_loss", "val_auroc", "seconds") if k in h}
                    for h in report.history],
    }


def _one_experiment(arm: str, folder: str, args: argparse.Namespace, path: str) -> dict:
    """Train and test one arm on one experiment (in a worker process when ``--jobs`` > 1)."""
    import torch

    from rnalabel.engine.training import fit
    from rnalabel.io.benchmark_sets import load_rbp31_experiment

    if args.threads:
        torch.set_num_threads(args.threads)
    rec = arm_recipe(arm, args)
    t0 = time.perf_counter()
    ds = load_rbp31_experiment(args.data, folder)
    label = ds.label_names[0]
    model, report = fit(rec, ds, progress=False, device=args.device)
    res = summarise(report, label) | {"label": label, "wall_seconds": time.perf_counter() - t0,
                                      "recipe": rec.name, "peak_rss_mb": peak_rss_mb(),
                                      "threads": torch.get_num_threads(), "precision": resolved(rec, args),
                                      "max_epochs": rec.train.max_epochs}
    Path(path).write_text(json.dumps(res, indent=1))
    print(f"[{arm}] {folder}: test AUC {res['test_auc']:.4f} (val {res['val_auc']:.4f}), "
          f"{res['epochs']} epochs, {res['wall_seconds']:.0f} s", flush=True)
    return res


def run_per_experiment(arm: str, folders: list[str], args, work: Path) -> dict[str, dict]:
    """One model per experiment; ``--jobs`` experiments at a time, each in its own process."""
    out, todo = {}, []
    for folder in folders:
        path = work / f"{arm}__{number(folder):02d}.json"
        if path.exists() and not args.rerun:
            out[folder] = json.loads(path.read_text())
        else:
            todo.append((folder, str(path)))
    if args.jobs <= 1:
        for folder, path in todo:
            out[folder] = _one_experiment(arm, folder, args, path)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as pool:
            futures = {folder: pool.submit(_one_experiment, arm, folder, args, path) for folder, path in todo}
            for folder, fut in futures.items():
                out[folder] = fut.result()
    return {f: out[f] for f in folders}


def run_multitask(folders: list[str], args, work: Path) -> dict[str, dict]:
    from rnalabel.engine.training import fit
    from rnalabel.io.benchmark_sets import build_rbp31_multitask

    path = work / "multitask.json"
    if path.exists() and not args.rerun:
        saved = json.loads(path.read_text())
        return saved["experiments"]
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rec = arm_recipe("multitask", args)
    t0 = time.perf_counter()
    ds = build_rbp31_multitask(args.data, experiments=folders)
    build_s = time.perf_counter() - t0
    # the training state is checkpointed so that a killed run (a long convergence run spans sessions) resumes
    state = work / "multitask_state"
    resumed = (state / "resume.json").exists() and not args.rerun
    model, report = fit(rec, ds, progress=False, device=args.device, checkpoint=state, resume=resumed)
    res = {}
    for folder, label in zip(folders, ds.label_names, strict=True):
        res[folder] = summarise(report, label) | {"label": label}
    wall = build_s + trained_seconds(report.history) if resumed else time.perf_counter() - t0
    meta = {"wall_seconds": wall, "build_seconds": build_s, "recipe": rec.name, "resumed": resumed,
            "precision": resolved(rec, args),
            "provenance": {k: v for k, v in ds.provenance.items() if k in ("rows", "cross_split", "conflicts")},
            "peak_rss_mb": peak_rss_mb(), "history": report.history}
    path.write_text(json.dumps({"experiments": res, "meta": meta}, indent=1))
    print(f"[multitask] mean test AUC {np.mean([r['test_auc'] for r in res.values()]):.4f}, "
          f"{meta['wall_seconds']:.0f} s", flush=True)
    return res


def fmt(v: float | None) -> str:
    return "–" if v is None or v != v else f"{v:.3f}"


def write_report(results: dict[str, dict[str, dict]], folders: list[str], args, work: Path, wall: dict) -> str:
    arms = [a for a in ARMS if a in results]
    head = ["#", "experiment", *[f"**{a}**" for a in arms], *PUBLISHED_COLUMNS, "best published"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ours = {a: [] for a in arms}
    pub = {c: [] for c in PUBLISHED_COLUMNS}
    best_pub, losses = [], []
    for folder in folders:
        n = number(folder)
        name, vals = PUBLISHED[n]
        row = [str(n), name]
        for a in arms:
            v = results[a][folder]["test_auc"]
            ours[a].append(v)
            row.append(fmt(v))
        for c, v in zip(PUBLISHED_COLUMNS, vals, strict=True):
            pub[c].append(v)
        b = max(vals)
        best_pub.append(b)
        row += [fmt(v) for v in vals] + [fmt(b)]
        lines.append("| " + " | ".join(row) + " |")
    means = ["", "**mean**", *[f"**{np.mean(ours[a]):.3f}**" for a in arms],
             *[f"{np.mean(pub[c]):.3f}" for c in PUBLISHED_COLUMNS], f"{np.mean(best_pub):.3f}"]
    lines.append("| " + " | ".join(means) + " |")
    table = "\n".join(lines)

    best_arm = max(arms, key=lambda a: np.mean(ours[a]))
    for folder, mine, b in zip(folders, ours[best_arm], best_pub, strict=True):
        if mine < b:
            n = number(folder)
            col = PUBLISHED_COLUMNS[int(np.argmax(PUBLISHED[n][1]))]
            losses.append(f"| {n} | {PUBLISHED[n][0]} | {mine:.3f} | {b:.3f} ({col}) | {mine - b:+.3f} |")
    beat = {c: sum(m > p for m, p in zip(ours[best_arm], pub[c], strict=True)) for c in PUBLISHED_COLUMNS}

    imported = {a: next(iter(results[a].values()))["imported"] for a in arms
                if "imported" in next(iter(results[a].values()))}
    val_rows = []
    for a in arms:
        if a in imported:  # the row as the report that ran it states it
            val_rows.append(f"| {a} (imported) | " + " | ".join(imported[a]["validation_row"]) + " |")
            continue
        v = [results[a][f]["val_auc"] for f in folders]
        ep = [results[a][f]["epochs"] for f in folders]
        # each fit's own cap where its JSON records it (an experiment may have been rerun with a higher one)
        cap = arm_recipe(a, args).train.max_epochs
        caps = [results[a][f].get("max_epochs", cap) for f in folders]
        if a == "multitask":  # one model for all experiments
            ep, caps = ep[:1], caps[:1]
        at_cap = sum(e >= c for e, c in zip(ep, caps, strict=True))
        cap_s = str(caps[0]) if len(set(caps)) == 1 else f"{min(caps)}-{max(caps)}"
        val_rows.append(f"| {a} | {np.mean(v):.4f} | {np.mean(ours[a]):.4f} | {np.mean(ep):.1f} ({min(ep)}-{max(ep)}) "
                        f"| {cap_s} ({at_cap} of {len(ep)}) | {wall.get(a, float('nan')) / 60:.1f} |")
    cmd = " ".join(shlex.quote(x) for x in [Path(sys.executable).name, *sys.argv])
    rss = {a: max((r.get("peak_rss_mb") or 0) for r in results[a].values()) for a in arms if a != "multitask"}
    rss |= {a: m["peak_rss_mb"] for a, m in imported.items()}
    mt_meta = {}
    if "multitask" in imported:
        mt_meta = {"provenance": {"cross_split": {"train_rows_dropped": imported["multitask"]["dropped_rows"]}}}
    elif (work / "multitask.json").exists():
        mt_meta = json.loads((work / "multitask.json").read_text())["meta"]
    if mt_meta and "multitask" not in imported:
        rss["multitask"] = mt_meta["peak_rss_mb"]
    described = {
        "multitask": f"""**multitask** = one `{results.get('multitask') and mt_meta.get('recipe', args.recipe_multitask) or args.recipe_multitask}` model with 31 outputs
(labels of experiments that did not assay a sequence are masked; training rows whose sequence occurs in any
test part are dropped: {mt_meta.get('provenance', {}).get('cross_split', {}).get('train_rows_dropped', 'n/a')} rows)""",
        "single": f"**single** = recipe `{args.recipe_single}` trained per experiment",
        "deepbind": f"**deepbind** = recipe `{args.recipe_deepbind}` per experiment",
        "deepmirbp": f"**deepmirbp** = recipe `{args.recipe_deepmirbp}` (the DeepMiRBP architecture) per experiment, in fp32",
    }
    for a, m in imported.items():
        described[a] += (f" (imported: this column is read from `{m['report']}`, commit `{m['commit']}`, "
                         f"precision {m['precision']}; not retrained by this invocation)")
    arm_text = ";\n".join(described[a] for a in arms) + "."
    precisions = "; ".join(f"{a} {arm_precision(a, results[a], imported)}" for a in arms)
    mt_memory = ""
    if "multitask" in imported:
        mt_memory = f"Memory per epoch (multitask): in `{imported['multitask']['report']}`."
    elif "multitask" in arms:
        mt_memory = f"Memory per epoch (multitask, MiB): {[h.get('rss_mb') for h in mt_meta.get('history', [])]}."
    # the DeepMiRBP architecture beside the published DeepMiRBP column, row by row
    vs_paper = ""
    if "deepmirbp" in arms:
        d = np.array(ours["deepmirbp"]) - np.array(pub["DeepMiRBP"])
        vs_paper = (f"\n\nThe DeepMiRBP architecture as rnalabel trains it (**deepmirbp**) against the published DeepMiRBP "
                    f"column: mean {np.mean(ours['deepmirbp']):.3f} vs {np.mean(pub['DeepMiRBP']):.3f}, higher on "
                    f"{int((d > 0).sum())} of {len(d)} experiments (median difference {np.median(d):+.3f}).")
    text = f"""# RBP-31: rnalabel against the published systems

Same data and split as the papers: each experiment's `training_sample_0` (30,000 sequences) for training, of which
10 % (stratified, seed {args.seed}) is held out for early stopping and thresholds, and `test_sample_0` (10,000)
touched once for the AUC below. Published columns: Table 3 of the DeepMiRBP paper (iDeepS, DeepBind, DeeperBind,
Oli, iDeepV and GraphProt taken from the iDeepS paper), as in `../shared/reference/published_results.md`.

Arms: {arm_text}
Precision (as each arm was trained): {precisions}; seed {args.seed}; device {args.device or 'auto'}; {args.jobs} experiment(s)
at a time, {args.threads or 'default'} torch thread(s) per process.

## Test AUC per experiment

{table}

Best arm: **{best_arm}**, mean test AUC **{np.mean(ours[best_arm]):.3f}** (published best column: DeepMiRBP
{np.mean(pub["DeepMiRBP"]):.3f}{"" if len(folders) == len(PUBLISHED) else f" on these {len(folders)} experiments"}; mean of the per-row best published value: {np.mean(best_pub):.3f}). It beats each published column on
this many of the {len(folders)} experiments: {", ".join(f"{c} {beat[c]}" for c in PUBLISHED_COLUMNS)}.{vs_paper}

## Where the best arm still loses to the best published value

| # | experiment | {best_arm} | best published | difference |
|---|---|---|---|---|
{chr(10).join(losses) if losses else "| | none | | | |"}

## Validation (used for all choices) and cost

| arm | mean validation AUC | mean test AUC | mean epochs (range) | epoch cap (models that reached it) | wall time (min) |
|---|---|---|---|---|---|
{chr(10).join(val_rows)}

Peak resident memory: {", ".join(f"{a} {v:.0f} MiB" for a, v in rss.items())}.{chr(10) + mt_memory if mt_memory else ""}

## Reproduce

```
{cmd}
```

Git commit: `{git_commit()}`; Python {platform.python_version()}; machine: {platform.machine()}, {_cpu()};
started {wall.get('started', '')}; wall time of this invocation {wall.get('total', float('nan')) / 60:.1f} min (results cached in `{work}` are reused, not recomputed); recorded training wall time summed over the arms {sum(v for k, v in wall.items() if k in ARMS) / 60:.1f} min (arms run in separate processes at once take less wall-clock time than this sum).
Per-experiment JSON results are in `{work}`{" (committed: a later run with the same `--work` trains only what is missing)" if str(work).startswith("benchmarks") else " (not committed)"}.
"""
    if args.earlier:
        text = text.replace("\n## Validation (used", earlier_section(results, folders, args.earlier) + "\n## Validation (used", 1)
    return text


def earlier_table(path: str | Path) -> dict[str, dict[int, float]]:
    """Test AUC per arm and experiment number from an earlier report's "Test AUC per experiment" table."""
    rows = [ln for ln in Path(path).read_text().splitlines() if ln.startswith("| ")]
    head = next(r for r in rows if r.startswith("| # | experiment |"))
    cols = [c.strip().strip("*") for c in head.strip("|").split("|")]
    out: dict[str, dict[int, float]] = {c: {} for c in cols[2:]}
    for r in rows:
        cells = [c.strip().strip("*") for c in r.strip("|").split("|")]
        if len(cells) == len(cols) and cells[0].isdigit():
            for c, v in zip(cols[2:], cells[2:], strict=True):
                try:
                    out[c][int(cells[0])] = float(v)
                except ValueError:
                    pass
    return out


def imported_arm(arm: str, path: str | Path, folders: list[str]) -> dict[str, dict]:
    """An arm's column read from an earlier report of this script instead of retraining it (``--import-arm``).

    Only what the report states is available: the test AUC per experiment, and that arm's row of the validation
    and cost table, its precision, peak memory and commit, kept under ``"imported"`` in every experiment's entry."""
    import re

    text = Path(path).read_text()
    col = earlier_table(path).get(arm, {})
    missing = [f for f in folders if number(f) not in col]
    if missing:
        raise SystemExit(f"{path}: no {arm} test AUC for experiment(s) {', '.join(str(number(f)) for f in missing)}; "
                         "import an arm only from a report of the same experiments")
    val_row = next((ln for ln in text.split("## Validation", 1)[-1].splitlines() if ln.startswith(f"| {arm} |")), None)
    if val_row is None:
        raise SystemExit(f"{path}: no '| {arm} |' row in its validation table")
    cells = [c.strip() for c in val_row.strip("|").split("|")][1:]

    def find(pattern: str) -> str | None:
        m = re.search(pattern, text)
        return m.group(1) if m else None

    meta = {"report": str(path), "validation_row": cells, "precision": find(r"Precision ([^;]+);"),
            "peak_rss_mb": float(find(rf"{arm} (\d+) MiB") or "nan"), "commit": find(r"Git commit: `(\w+)`"),
            "dropped_rows": find(r"test part are dropped: (\d+) rows"), "wall_minutes": float(cells[4])}
    return {f: {"test_auc": col[number(f)], "imported": meta} for f in folders}


def earlier_section(results: dict[str, dict[str, dict]], folders: list[str], path: str | Path) -> str:
    """Each arm of this run against the same arm of an earlier report, on the experiments both have."""
    old = earlier_table(path)
    lines = [f"\n## Against the earlier run (`{path}`)\n", "| arm | experiments | mean test AUC, earlier | this run | "
             "difference | better / worse (> 0.005) |", "|---|---|---|---|---|---|"]
    for a in [a for a in ARMS if a in results and a in old]:
        pairs = [(old[a][number(f)], results[a][f]["test_auc"]) for f in folders if number(f) in old[a]]
        if not pairs:
            continue
        e, t = np.array(pairs).T
        lines.append(f"| {a} | {len(pairs)} | {e.mean():.4f} | {t.mean():.4f} | {t.mean() - e.mean():+.4f} | "
                     f"{int(np.sum(t - e > 0.005))} / {int(np.sum(e - t > 0.005))} |")
    return "\n".join(lines) + "\n"


def plot_curves(results: dict[str, dict[str, dict]], work: Path, out_png: Path) -> Path | None:
    """Learning curves next to the RBP-31 table (see :func:`plot_learning_curves`): the multitask model's macro
    curve; per-experiment arms one thin line per experiment. Returns the PNG, or None when no result holds a
    history."""
    curves: dict[str, list[tuple[list[dict], int]]] = {}
    for arm, res in results.items():
        if arm == "multitask" and (work / "multitask.json").exists():
            meta = json.loads((work / "multitask.json").read_text())["meta"]
            best = next(iter(res.values()))["best_epoch"]
            if meta.get("history"):
                curves[arm] = [(meta["history"], best)]
        else:
            curves[arm] = [(r["history"], r["best_epoch"]) for r in res.values() if r.get("history")]
    return plot_learning_curves(curves, out_png)


def plot_learning_curves(curves: dict[str, list[tuple[list[dict], int]]], out_png: Path) -> Path | None:
    """Validation loss and validation AUROC per epoch, one column of two panels per arm.

    ``curves`` maps an arm to its models, each a (training history, epoch whose weights were kept); an arm of
    several models is drawn with thin lines. A dot marks the kept epoch. Returns the PNG, or None when no arm has
    a history."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {a: c for a, c in curves.items() if c}
    if not curves:
        return None
    fig, axes = plt.subplots(2, len(curves), figsize=(4.2 * len(curves), 6.4), squeeze=False)
    for j, (arm, runs) in enumerate(curves.items()):
        thin = len(runs) > 1
        for hist, best in runs:
            ep = [h["epoch"] for h in hist]
            for i, key in enumerate(("val_loss", "val_auroc")):
                ys = [h.get(key, np.nan) for h in hist]
                ax = axes[i, j]
                ax.plot(ep, ys, lw=0.8 if thin else 1.8, alpha=0.6 if thin else 1.0)
                if 1 <= best <= len(ys):
                    ax.plot([best], [ys[best - 1]], "o", ms=3 if thin else 6, color="black")
        axes[0, j].set_title(f"{arm} ({len(runs)} model{'s' if thin else ''})")
        axes[0, j].set_ylabel("validation loss")
        axes[1, j].set_ylabel("validation AUROC (macro)")
        axes[1, j].set_xlabel("epoch (dot: weights kept)")
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png


def _cpu() -> str:
    import os

    try:
        model = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="rbp31 folder (holding datasets/)")
    ap.add_argument("--out", default="benchmarks/results/rbp31.md")
    ap.add_argument("--work", default="runs/bench_rbp31", help="per-experiment JSON results (resumable)")
    ap.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated subset of {ARMS}")
    ap.add_argument("--experiments", default="all", help="'all' or comma-separated numbers, e.g. 1,23,24")
    ap.add_argument("--recipe-multitask", default="rbp31_multitask")
    ap.add_argument("--recipe-single", default="rbp31_single")
    ap.add_argument("--recipe-deepbind", default="deepbind")
    ap.add_argument("--recipe-deepmirbp", default="deepmirbp")
    ap.add_argument("--precision", default="auto",
                    help="auto (default): bf16-mixed where the CPU/GPU has native bf16, else 32")
    ap.add_argument("--max-epochs", type=int, default=None)
    ap.add_argument("--patience", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None)
    ap.add_argument("--jobs", type=int, default=1, help="experiments trained at once (processes)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads per process (default: torch's)")
    ap.add_argument("--rerun", action="store_true", help="ignore cached per-experiment results")
    ap.add_argument("--import-arm", action="append", default=[], metavar="ARM=REPORT",
                    help="take ARM's column from an earlier report of this script instead of training it, "
                         "e.g. multitask=benchmarks/results/rbp31_converged.md (repeatable)")
    ap.add_argument("--earlier", default=None,
                    help="an earlier report (e.g. benchmarks/results/rbp31.md): each arm against the same arm there")
    args = ap.parse_args(argv)

    from rnalabel.io.benchmark_sets import rbp31_experiments

    folders = rbp31_experiments(args.data)
    if args.experiments != "all":
        wanted = {int(x) for x in args.experiments.split(",")}
        folders = [f for f in folders if number(f) in wanted]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    wall: dict = {"started": time.strftime("%Y-%m-%d %H:%M")}
    t_all = time.perf_counter()
    results: dict[str, dict[str, dict]] = {}
    imports = dict(x.split("=", 1) for x in args.import_arm if "=" in x)
    if len(imports) != len(args.import_arm) or not set(imports) <= set(ARMS):
        ap.error(f"--import-arm takes ARM=REPORT with ARM one of {ARMS}")
    for arm in [a.strip() for a in args.arms.split(",") if a.strip()]:
        if arm not in ARMS:
            ap.error(f"unknown arm {arm!r}; choose from {ARMS}")
        t0 = time.perf_counter()
        if arm in imports:
            results[arm] = imported_arm(arm, imports[arm], folders)
            wall[arm] = 60 * next(iter(results[arm].values()))["imported"]["wall_minutes"]
            continue
        results[arm] = run_multitask(folders, args, work) if arm == "multitask" else \
            run_per_experiment(arm, folders, args, work)
        wall[arm] = _arm_seconds(results[arm], arm, work) or (time.perf_counter() - t0)
    wall["total"] = time.perf_counter() - t_all
    text = write_report(results, folders, args, work, wall)
    png = plot_curves(results, work, Path(args.out).with_name(Path(args.out).stem + "_curves.png"))
    if png is not None:
        elsewhere = [f"{a}: in `{v}`" for a, v in imports.items() if a in results]
        text = text.replace("\n## Where the best arm", f"\nLearning curves (validation loss and AUROC per epoch): "
                            f"[{png.name}]({png.name})"
                            f"{' (imported arms, ' + '; '.join(elsewhere) + ')' if elsewhere else ''}"
                            ".\n\n## Where the best arm", 1)
    from rnalabel.data import write_text_atomic

    write_text_atomic(args.out, text)
    print(f"wrote {args.out}")


def _arm_seconds(res: dict[str, dict], arm: str, work: Path) -> float:
    """Wall time of an arm from its saved results (so a resumed run reports the real cost)."""
    if arm == "multitask":
        p = work / "multitask.json"
        return json.loads(p.read_text())["meta"]["wall_seconds"] if p.exists() else 0.0
    return float(sum(r.get("wall_seconds", 0.0) for r in res.values()))


if __name__ == "__main__":
    main()
