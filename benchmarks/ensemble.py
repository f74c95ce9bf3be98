"""Seed ensembles: does averaging a few models of one recipe, trained with different seeds, lift test AUROC?

Data (one fixed split, data seed 0; only the training seed differs between members):

* ``eclip``: the 91-RBP eCLIP multi-label set of ``benchmarks/eclip_multilabel.py`` (333,547 sequences x 92 labels,
  70/10/20 iterative stratification).
* ``rbp31``: the RBP-31 multi-task set of ``benchmarks/rbp31.py`` (published test parts; training rows whose
  sequence is in any test part dropped; 10 % of the rest held out for validation).

Each member is ``recipe`` trained by :func:`rnalabel.engine.training.fit` with ``train.seed`` = 0, 1, ...
(early stopping as the recipe says; the epoch cap stated in the report), saved as a bundle under ``--work`` and
checkpointed per epoch, so a killed run resumes where it stopped. The ensemble of the first k members is built by
:func:`rnalabel.engine.ensemble.combine` (the mean of the members' logits; thresholds chosen on validation), the
same code as ``rnalabel ensemble``; its test metrics come from the same forward pass as ``rnalabel evaluate``.

Usage::

    python benchmarks/ensemble.py --task eclip --recipe deepripe --members 3 --out benchmarks/results/ensemble_eclip_deepripe.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rbp31 import _cpu, git_commit, peak_rss_mb, plot_learning_curves, reproduce_footer, trained_seconds  # noqa: E402


def build_data(task: str, data: str):
    from rnalabel.data import split_iterative
    from rnalabel.io.benchmark_sets import build_eclip_multilabel, build_rbp31_multitask

    if task == "eclip":
        return split_iterative(build_eclip_multilabel(data, seed=0), (0.7, 0.1, 0.2), seed=0)
    if task == "rbp31":  # validation carved once (seed 0), so every member and the ensemble share it
        from rnalabel.engine.recipe import TrainConfig
        from rnalabel.engine.training import prepare_splits

        return prepare_splits(build_rbp31_multitask(data, cross_split="drop_train"), TrainConfig(seed=0))
    raise SystemExit(f"unknown task {task!r}")


def train_member(recipe_name: str, ds, seed: int, args, work: Path) -> dict:
    """Train (or resume, or reuse) member ``seed``; its bundle is ``work/member_<seed>/``."""
    from rnalabel.engine.bundle import save_model
    from rnalabel.engine.recipe import load_recipe
    from rnalabel.engine.training import fit

    out = work / f"member_{seed}"
    meta = work / f"member_{seed}.json"
    if (out / "card.json").exists() and meta.exists():
        return json.loads(meta.read_text())
    over = {"seed": seed, "precision": args.precision}
    if args.max_epochs:
        over["max_epochs"] = args.max_epochs
    rec = load_recipe(recipe_name).with_train(**over)
    state = work / f"member_{seed}_state"
    resumed = (state / "resume.json").exists()
    t0 = time.perf_counter()
    model, report = fit(rec, ds, progress=False, checkpoint=state, resume=resumed)
    wall = (trained_seconds(report.history) + report.timings["featurize_s"]) if resumed else time.perf_counter() - t0
    save_model(model, out)
    res = {
        "seed": seed, "recipe": recipe_name, "max_epochs": rec.train.max_epochs, "epochs": len(report.history),
        "best_epoch": report.best_epoch, "wall_seconds": wall, "resumed": resumed,
        "history": [{k: h[k] for k in ("epoch", "train_loss", "val_loss", "val_auroc", "lr", "seconds") if k in h}
                    for h in report.history],
        "test": report.test.averages["auroc_macro"],
    }
    meta.write_text(json.dumps(res, indent=1))
    print(f"[member {seed}] test macro AUROC {res['test']:.4f}, {res['epochs']} epochs (best {res['best_epoch']}), "
          f"{wall / 60:.1f} min", flush=True)
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", choices=("eclip", "rbp31"), required=True)
    ap.add_argument("--data", default=None, help="default: ../shared/data/<eclip|rbp31>")
    ap.add_argument("--recipe", required=True)
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--max-epochs", type=int, default=60, help="epoch cap (early stopping ends sooner)")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--work", default=None, help="default: runs/bench_ensemble_<task>_<recipe>")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    from rnalabel.data import write_text_atomic
    from rnalabel.engine.bundle import load_model
    from rnalabel.engine.evaluate import evaluate

    t0 = time.perf_counter()
    data = args.data or f"../shared/data/{args.task}"
    work = Path(args.work or f"runs/bench_ensemble_{args.task}_{args.recipe}")
    work.mkdir(parents=True, exist_ok=True)
    ds = build_data(args.task, data)
    print(f"dataset {len(ds):,} x {ds.n_labels}", flush=True)
    members = [train_member(args.recipe, ds, s, args, work) for s in range(args.members)]
    from rnalabel.engine.ensemble import combine

    bundles = [load_model(work / f"member_{s}") for s in range(args.members)]
    val, test = ds.select_split("val"), ds.select_split("test")

    rows = []
    single = []
    for s, b in enumerate(bundles):
        t = evaluate(b, test, progress=False).scores.averages
        single.append(t)
        rows.append((f"member {s} (seed {s})", t, members[s]))
    ens = {}
    for k in range(2, len(bundles) + 1):
        e = combine(bundles[:k], val)
        ens[k] = evaluate(e, test, progress=False).scores.averages
    keys = ["auroc_macro", "auroc_micro", "ap_macro", "f1_macro"]
    lines = [
        f"# Seed ensembles: {args.task}, recipe `{args.recipe}`",
        "",
        f"What `benchmarks/ensemble.py` measured (protocol in its docstring): {len(ds):,} sequences x {ds.n_labels} "
        f"labels, one split (data seed 0); members differ only in the training seed. Epoch cap {args.max_epochs} "
        "(early stopping on validation loss ends sooner; see the epochs column). Ensemble = mean of the members' "
        "logits, thresholds chosen on validation (`rnalabel ensemble`).",
        "",
        "## Test metrics",
        "",
        "| model | " + " | ".join(keys) + " | epochs (best) | wall min |",
        "|---|" + "---|" * (len(keys) + 2),
    ]
    for name, t, m in rows:
        lines.append(f"| {name} | " + " | ".join(f"{t[k]:.4f}" for k in keys)
                     + f" | {m['epochs']} ({m['best_epoch']}) | {m['wall_seconds'] / 60:.1f} |")
    mean = {k: float(np.mean([t[k] for t in single])) for k in keys}
    sd = {k: float(np.std([t[k] for t in single], ddof=1)) if len(single) > 1 else 0.0 for k in keys}
    lines.append("| members, mean ± sd | " + " | ".join(f"{mean[k]:.4f} ± {sd[k]:.4f}" for k in keys) + " | | |")
    for k, t in ens.items():
        lines.append(f"| **ensemble of members 0-{k - 1}** | " + " | ".join(f"{t[k2]:.4f}" for k2 in keys) + " | | |")
    if ens:
        last = ens[max(ens)]
        lines += ["", f"Ensemble of {max(ens)} minus the members' mean, macro AUROC: "
                  f"{last['auroc_macro'] - mean['auroc_macro']:+.4f}; minus the best member: "
                  f"{last['auroc_macro'] - max(t['auroc_macro'] for t in single):+.4f}."]
    png = plot_learning_curves({args.recipe: [(m["history"], m["best_epoch"]) for m in members]},
                               Path(args.out).with_name(Path(args.out).stem + "_curves.png"))
    if png:
        lines += ["", f"Learning curves of the members: [{png.name}]({png.name})."]
    lines += ["", f"Machine: {_cpu()}; peak RSS {peak_rss_mb():.0f} MB. Member bundles in `{work}` (not committed).",
              "", *reproduce_footer(git_commit(), t0)]
    write_text_atomic(args.out, "\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
