"""Does rnalabel's pretrained RNA language model lift RBP binding prediction? (issue 12's stretch goal)

On a few RBP-31 experiments (published training / test split, as in ``benchmarks/rbp31.py``), the per-experiment
Multi-resBind recipe (``rbp31_single``) is trained three times with the same seed, split and settings:

* ``one-hot``: the recipe as it is (nucleotide one-hot, 4 channels);
* ``one-hot + LM``: the hidden states of the language model's last layer at each nucleotide (the ``lm`` view,
  101 positions) concatenated with the one-hot along channels (4 + hidden);
* ``one-hot + untrained LM``: the same, from a randomly initialised LM of the same size (``random_init``), so
  that what the extra channels bring is told apart from what pretraining brings.

The LM is given with ``--lm``; it must not have seen the test RNAs. The one this file's result was made with:

    rnalabel lm pretrain ../shared/data/mirbase/hairpin.fa ../shared/data/mirbase/mature.fa \\
        ../shared/data/rbp31/datasets/clip/*/30000/training_sample_0/sequences.fa.gz \\
        $(printf -- '--exclude %s ' ../shared/data/rbp31/datasets/clip/*/30000/test_sample_0/sequences.fa.gz) \\
        --out runs/rnalm_rbp31 --epochs 4 --steps-per-epoch 1000 --lr 1e-3

(every RBP-31 training RNA that is also in any experiment's test part is left out of the corpus). The LM stays
frozen: its states are computed once per RNA, as a view. Per-experiment results are cached as JSON under
``--work/<arm>/`` so an interrupted run resumes.

Usage::

    python benchmarks/lm_rbp31.py --data ../shared/data/rbp31 --lm runs/rnalm_rbp31 --experiments 12,18,20 \\
        --jobs 2 --threads 1 --out benchmarks/results/lm_rbp31.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rbp31  # noqa: E402  (the RBP-31 runner: split, training, caching, footer)

ARMS = ("one-hot", "one-hot + LM", "one-hot + untrained LM")
SLUG = {"one-hot": "onehot", "one-hot + LM": "onehot_lm", "one-hot + untrained LM": "onehot_lm_random"}


def arm_recipe_file(arm: str, lm: str, base: str, work: Path) -> Path:
    """The recipe of one arm, written as YAML into the work folder (worker processes load it by path)."""
    import yaml

    from rnalabel.engine.recipe import load_recipe

    rec = load_recipe(base).to_dict()
    if arm != "one-hot":
        lm_view = {"type": "lm", "path": str(Path(lm).resolve()), "length": 101,
                   "random_init": arm == "one-hot + untrained LM"}
        rec["views"] = {**rec["views"], "lm": lm_view}
        rec["description"] = f"{rec.get('description', base)}; + {arm.split(' + ', 1)[1]} view"
    path = work / f"{SLUG[arm]}.yaml"
    path.write_text(yaml.safe_dump(rec, sort_keys=False))
    return path


def lm_lines(lm: str) -> list[str]:
    from rnalabel.io.lm import load_lm

    m = load_lm(lm)
    c, p = m.config, m.card.get("pretraining", {})
    corpus = p.get("corpus", {})
    n_par = sum(t.numel() for t in m.module.weights().values())
    lines = [f"Language model `{lm}`: BERT, {c.num_hidden_layers} layers x {c.hidden_size} units, "
             f"{c.num_attention_heads} heads, {n_par:,} parameters."]
    if p:
        steps = p["history"][-1]["step"] if p.get("history") else "?"
        lines.append(f"Pretrained by masked-language modelling on {len(corpus.get('files', []))} files "
                     f"({corpus.get('distinct', 0):,} distinct RNAs, {corpus.get('excluded', 0):,} of them left out "
                     f"because they are in {len(corpus.get('exclude_files', []))} excluded files, "
                     f"{corpus.get('nucleotides', 0):,} nt), {steps} steps of {p['settings']['batch_size']}: "
                     f"validation masked-token accuracy {p['val_accuracy']:.3f}, perplexity "
                     f"{p['val_perplexity']:.2f}.")
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="rbp31 folder (holding datasets/)")
    ap.add_argument("--lm", required=True, help="LM folder (rnalabel lm pretrain) that has not seen the test parts")
    ap.add_argument("--experiments", default="12,18,20", help="comma-separated RBP-31 experiment numbers")
    ap.add_argument("--recipe", default="rbp31_single", help="the per-experiment recipe the views are added to")
    ap.add_argument("--out", default="benchmarks/results/lm_rbp31.md")
    ap.add_argument("--work", default="runs/bench_lm_rbp31")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="experiments trained at once (processes)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads per process")
    ap.add_argument("--max-epochs", type=int, default=None, help="override the recipe's epoch cap (smoke tests)")
    ap.add_argument("--arms", default=",".join(ARMS), help="train only these arms now (the report needs all three)")
    ap.add_argument("--rerun", action="store_true")
    args = ap.parse_args(argv)

    from rnalabel.io.benchmark_sets import rbp31_experiments

    t0 = time.perf_counter()
    commit = rbp31.git_commit()
    wanted = {int(x) for x in args.experiments.split(",")}
    folders = [f for f in rbp31_experiments(args.data) if rbp31.number(f) in wanted]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, dict]] = {}
    todo = [a.strip() for a in args.arms.split(",")]
    if set(todo) - set(ARMS):
        ap.error(f"unknown arm in {args.arms!r}; choose from {ARMS}")
    for arm in todo:
        arm_work = work / SLUG[arm]
        arm_work.mkdir(exist_ok=True)
        ns = argparse.Namespace(data=args.data, recipe_single=str(arm_recipe_file(arm, args.lm, args.recipe, work)),
                                recipe_multitask=None, recipe_deepbind=None, recipe_deepmirbp=None,
                                precision="auto", max_epochs=args.max_epochs, patience=None, batch_size=None, seed=args.seed,
                                device=None, jobs=args.jobs, threads=args.threads, rerun=args.rerun)
        t_arm = time.perf_counter()
        results[arm] = rbp31.run_per_experiment("single", folders, ns, arm_work)
        print(f"[{arm}] done in {(time.perf_counter() - t_arm) / 60:.1f} min", flush=True)
    if set(todo) != set(ARMS):
        return

    head = "| # | experiment | " + " | ".join(f"{a} test AUC" for a in ARMS) + " | LM − one-hot | epochs (best) | " \
           "train time, s |"
    lines = ["# The pretrained RNA language model as an extra view for RBP binding (RBP-31)", "",
             f"Recipe `{args.recipe}` (Multi-resBind, early stopping on validation loss) per experiment, trained on "
             "the published training part (10 % held out for early stopping), tested once on the published test "
             "part; the same seed and split for every arm. The LM view: the last layer's hidden state at each of "
             "the 101 nucleotides, concatenated with the one-hot along channels; the LM itself stays frozen.", "",
             *lm_lines(args.lm), "", head, "|" + "---|" * (head.count("|") - 1)]
    for f in folders:
        r = {a: results[a][f] for a in ARMS}
        lines.append(f"| {rbp31.number(f)} | {r['one-hot']['label']} | "
                     + " | ".join(f"{r[a]['test_auc']:.4f}" for a in ARMS)
                     + f" | {r['one-hot + LM']['test_auc'] - r['one-hot']['test_auc']:+.4f} | "
                     + " / ".join(f"{r[a]['epochs']} ({r[a]['best_epoch']})" for a in ARMS) + " | "
                     + " / ".join(f"{r[a]['train_seconds']:.0f}" for a in ARMS) + " |")
    means = {a: float(np.mean([results[a][f]["test_auc"] for f in folders])) for a in ARMS}
    lines.append("| | **mean** | " + " | ".join(f"**{means[a]:.4f}**" for a in ARMS)
                 + f" | **{means['one-hot + LM'] - means['one-hot']:+.4f}** | | |")
    rss = {a: max(results[a][f].get("peak_rss_mb", 0) for f in folders) for a in ARMS}
    lines += ["", "Epochs and train time are given per arm in the column order above. Peak memory of one "
              "experiment's process: " + ", ".join(f"{a} {rss[a]:,.0f} MiB" for a in ARMS) + ".",
              f"Threads per process: {results['one-hot'][folders[0]].get('threads')}; {rbp31._cpu()}."]
    rbp31.write_result(args.out, lines, commit, t0)


if __name__ == "__main__":
    main()
