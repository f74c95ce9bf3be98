"""Speed on this machine: model throughput and roofline, featurisation, memory, and bf16 vs fp32 accuracy.

Sections of the report (``--out``):

1. the machine: CPU, threads, and the measured dense matmul and conv1d rates in fp32 and bf16 (the better is the roofline reference);
2. per recipe at 101 nt: parameters, forward FLOPs per sequence (``torch.utils.flop_counter``), training and
   inference sequences/s for fp32 and bf16 autocast at batch 128 and 512, the achieved GFLOP/s (training counts
   forward + backward = 3x forward FLOPs) and its ratio to the reference rate of the same precision; plus the
   end-to-end ``rnalabel.engine.training.fit`` rate (Lightning, data loading, validation included) and ``predict`` rate;
3. featurisation: one-hot and k-mer sequences/s; structure profiles with the cache cold and warm, and the same
   work done once per sequence in a fresh process (see ``plfold_per_process``);
4. memory per epoch of a multi-epoch ``fit`` (it must stay flat);
5. bf16 vs fp32 test AUC on a few RBP-31 experiments (same seed, same recipe), and bf16 with ``nn.Dropout``'s own
   Bernoulli masks in place of rnalabel's cheap ones (``models.layers.Dropout``): the same distribution, so only
   seed-to-seed noise may differ.

The training rates of section 2 are measured twice in the same process, with rnalabel's dropout and with
``nn.Dropout``'s (``torch_masks``): the before and after of the cheaper masks, in one run.

Usage::

    python benchmarks/speed.py --out benchmarks/results/speed.md [--rbp31 ../shared/data/rbp31]

Run it on a quiet machine: other processes on the same cores change every number here.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rbp31 import _cpu, git_commit, reproduce_footer  # noqa: E402

from rnalabel._runtime import native_bf16  # noqa: E402
from rnalabel.data import write_text_atomic  # noqa: E402
from rnalabel.engine.losses import masked_bce  # noqa: E402
from rnalabel.engine.recipe import load_recipe  # noqa: E402
from rnalabel.models.registry import InputSpec, build_model  # noqa: E402

L = 101


def timed(fn, *, min_seconds: float = 2.0, warmup: int = 2) -> float:
    """Seconds per call of ``fn`` (median of repeats over at least ``min_seconds``)."""
    for _ in range(warmup):
        fn()
    times = []
    t_end = time.perf_counter() + min_seconds
    while time.perf_counter() < t_end or len(times) < 3:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def matmul_gflops(dtype: torch.dtype, n: int = 2048) -> float:
    a = torch.randn(n, n, dtype=dtype)
    b = torch.randn(n, n, dtype=dtype)
    s = timed(lambda: torch.mm(a, b), min_seconds=2.0)
    return 2 * n**3 / s / 1e9


def conv_gflops(dtype: torch.dtype) -> float:
    """A large dense conv1d (8 x 512 x 1024, 512 filters of width 3): oneDNN's best case, the same kernels the models
    use. On AMD CPUs MKL's sgemm (``torch.mm``) takes a slower path than oneDNN, so a matmul alone understates the
    attainable rate."""
    x = torch.randn(8, 512, 1024, dtype=dtype)
    w = torch.randn(512, 512, 3, dtype=dtype)
    with torch.inference_mode():
        s = timed(lambda: torch.nn.functional.conv1d(x, w, padding=1), min_seconds=2.0)
    return 2 * 8 * 1024 * 512 * 512 * 3 / s / 1e9


def random_inputs(inputs: list[InputSpec], n: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    out = {}
    for s in inputs:
        if s.kind == "position":
            idx = torch.randint(0, s.channels, (n, s.length), generator=g)
            out[s.name] = torch.nn.functional.one_hot(idx, s.channels).permute(0, 2, 1).float().contiguous()
        elif s.kind == "pair":
            out[s.name] = torch.rand(n, s.channels, s.length, s.length, generator=g)
        else:
            out[s.name] = torch.rand(n, s.channels, generator=g)
    return out


def recipe_inputs(recipe) -> list[InputSpec]:
    """The recipe's views applied to a few demo sequences of 101 nt, to learn their shapes."""
    from rnalabel.data.synthetic import make_demo_dataset
    from rnalabel.engine.inputs import featurize, input_specs
    from rnalabel.views.base import views_from_specs

    ds = make_demo_dataset(16, seed=0).subset(np.arange(4))
    views = {n: v.fit(ds) for n, v in views_from_specs(recipe.views).items()}
    return input_specs(views, featurize(views, ds))


def forward_flops(model: torch.nn.Module, x: dict[str, torch.Tensor]) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model(x)
    n = len(next(iter(x.values())))
    return fc.get_total_flops() / n


@contextlib.contextmanager
def torch_masks():
    """Within the block, rnalabel's ``Dropout`` draws ``nn.Dropout``'s own Bernoulli masks (how it was before)."""
    from rnalabel.models import layers

    cheap = layers.Dropout.forward
    layers.Dropout.forward = torch.nn.Dropout.forward
    try:
        yield
    finally:
        layers.Dropout.forward = cheap


def model_rates(recipe, n_labels: int, mm: dict[str, float]) -> list[dict]:
    inputs = recipe_inputs(recipe)
    model = build_model(recipe.model, inputs=inputs, n_labels=n_labels, params=recipe.params)
    flops = forward_flops(model, random_inputs(inputs, 64))
    n_params = sum(p.numel() for p in model.parameters())
    rows = []
    for prec in ("fp32", "bf16"):
        bf16 = prec == "bf16"
        for bs in (128, 512):
            x = random_inputs(inputs, bs)
            y = (torch.rand(bs, n_labels) > 0.7).float()
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)

            def step(x=x, y=y, opt=opt, bf16=bf16):
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    out = model(x)
                loss = masked_bce(out, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

            model.train()
            with torch_masks():
                t_torch = timed(step)
            t_train = timed(step)
            model.eval()

            def infer(x=x, bf16=bf16):
                with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    model(x)

            t_inf = timed(infer)
            tr, inf = bs / t_train, bs / t_inf
            ref = mm[prec]
            rows.append({
                "recipe": recipe.name, "precision": prec, "batch": bs, "params": n_params,
                "mflop_fwd": flops / 1e6, "train_sps": tr, "infer_sps": inf, "train_torch_sps": bs / t_torch,
                "train_gflops": 3 * flops * tr / 1e9, "infer_gflops": flops * inf / 1e9,
                "train_roofline": 3 * flops * tr / 1e9 / ref, "infer_roofline": flops * inf / 1e9 / ref,
            })
            print(f"  {recipe.name} {prec} batch {bs}: train {tr:.0f} seq/s ({bs / t_torch:.0f} with nn.Dropout), "
                  f"infer {inf:.0f} seq/s", flush=True)
    return rows


def end_to_end(recipe_name: str, n: int = 20000, epochs: int = 3, precision: str = "bf16-mixed") -> dict:
    """``fit`` and ``predict`` on synthetic demo data: the rates a user sees (Lightning, loaders, validation)."""
    from rnalabel.data.synthetic import make_demo_dataset
    from rnalabel.engine.predict import predict
    from rnalabel.engine.training import fit

    ds = make_demo_dataset(n, seed=1)
    rec = load_recipe(recipe_name).with_train(max_epochs=epochs, patience=epochs, precision=precision)
    model, report = fit(rec, ds, progress=False, device="cpu")
    train_s = report.history[-1]["seconds"]
    per_epoch = (report.n_train) * len(report.history) / train_s
    test = ds.select_split("train")
    t = time.perf_counter()
    predict(model, test, progress=False, device="cpu")
    pred_sps = len(test) / (time.perf_counter() - t)
    return {"recipe": recipe_name, "precision": precision, "n_train": report.n_train, "epochs": len(report.history),
            "fit_train_sps": per_epoch, "predict_sps": pred_sps,
            "rss_mb": [h.get("rss_mb") for h in report.history]}


def featurisation(n_fold: int, n_proc_seqs: int) -> dict:
    from rnalabel.data.synthetic import make_demo_dataset
    from rnalabel.views import build_view

    ds = make_demo_dataset(20000, seed=2)
    big = ds.subset(np.tile(np.arange(len(ds)), 10))  # 200,000 sequences
    out = {}
    oh = build_view({"type": "onehot"})
    s = timed(lambda: oh.transform(big), min_seconds=3)
    out["onehot_sps"] = len(big) / s
    km = build_view({"type": "kmer", "k": [1, 2, 3]})
    s = timed(lambda: km.transform(ds), min_seconds=3, warmup=1)
    out["kmer_sps"] = len(ds) / s
    sub = ds.subset(np.arange(n_fold))
    with tempfile.TemporaryDirectory() as cache:
        os.environ["RNALABEL_CACHE"] = cache
        view = build_view({"type": "structure", "profile": "loop"})
        t = time.perf_counter()
        view.transform(sub)
        out["structure_cold_sps"] = n_fold / (time.perf_counter() - t)
        t = time.perf_counter()
        view.transform(sub)
        out["structure_warm_sps"] = n_fold / (time.perf_counter() - t)
        os.environ.pop("RNALABEL_CACHE")
    out["structure_processes"] = getattr(view, "processes", None) or os.cpu_count()
    out["n_fold"] = n_fold
    out.update(plfold_per_process(sub.sequences[:n_proc_seqs]))
    return out


def plfold_per_process(seqs: list[str]) -> dict:
    """The per-sequence pipeline of Multi-resBind: one folding program run per sequence, writing a profile file.

    No ``RNAplfold`` executable exists on this machine (no Debian ``vienna-rna`` package in its registry, none
    in the ``viennarna`` wheel, whose source distribution holds the library only). When one is on PATH it is used
    (``RNAplfold -W 150 -L 150 -u 1``); otherwise each sequence is folded by a fresh ``python -c`` process that
    imports ViennaRNA and writes the same unpaired-probability file, which is a *proxy* for the CLI: it pays the
    process start, library load and file I/O that a per-sequence CLI call pays, plus Python's start-up.
    """
    import shutil

    exe = shutil.which("RNAplfold")
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for i, s in enumerate(seqs):
            if exe:
                subprocess.run([exe, "-W", "150", "-L", "150", "-u", "1"], input=f">s{i}\n{s}\n", text=True,
                               cwd=d, check=True, capture_output=True)
            else:
                code = ("import RNA,sys;s=sys.stdin.read().strip();u=RNA.pfl_fold_up(s,1,150,150);"
                        f"open('s{i}_lunp','w').write('\\n'.join(f'{{j}}\\t{{u[j][1]}}' for j in range(1,len(s)+1)))")
                subprocess.run([sys.executable, "-c", code], input=s, text=True, cwd=d, check=True,
                               capture_output=True)
    dt = time.perf_counter() - t
    return {"per_process_sps": len(seqs) / dt, "per_process_tool": exe or "python -c (proxy, see docstring)",
            "per_process_n": len(seqs)}


def bf16_auc(rbp31: str, experiments: list[str], recipe_name: str, work: Path) -> list[dict]:
    """fp32 and bf16 fits of ``recipe_name`` on RBP-31 experiments (same seed, same split), cached per fit in ``work``.

    This measures accuracy, so it may run apart from the timing sections (``--only auc``), e.g. while other
    jobs use the machine; each cached fit records the load average when it started.
    """
    import json

    from rnalabel.engine.training import fit
    from rnalabel.io.benchmark_sets import load_rbp31_experiment

    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for e in experiments:
        ds = None
        row: dict = {}
        for prec in ("32", "bf16-mixed", "bf16-mixed+nn.Dropout"):
            path = work / f"{recipe_name}__{e}__{prec}.json"
            if path.exists():
                r = json.loads(path.read_text())
            else:
                ds = ds if ds is not None else load_rbp31_experiment(rbp31, e)  # a number or a folder name
                label = ds.label_names[0]
                load = os.getloadavg()[0]
                rec = load_recipe(recipe_name).with_train(precision=prec.split("+")[0], seed=0)
                with torch_masks() if prec.endswith("nn.Dropout") else contextlib.nullcontext():
                    _, rep = fit(rec, ds, progress=False, device="cpu")
                r = {"experiment": label, "auc": rep.test.per_label[label]["auroc"],
                     "sps": rep.timings["train_seq_per_s"], "epochs": len(rep.history),
                     "load_at_start": round(load, 2), "threads": torch.get_num_threads()}
                write_text_atomic(path, json.dumps(r, indent=1))
            row["experiment"] = r["experiment"]
            row[prec], row[prec + "_sps"], row[prec + "_epochs"] = r["auc"], r["sps"], r["epochs"]
            row["load"] = max(row.get("load", 0.0), r["load_at_start"])
            print(f"  {r['experiment']} {prec}: test AUC {r['auc']:.4f}", flush=True)
        rows.append(row)
    return rows


def auc_lines(auc: list[dict], recipe_name: str) -> list[str]:
    """The markdown section of the bf16-vs-fp32 AUC fits (empty when there are none)."""
    if not auc:
        return []
    lines = [
        f"## bf16 autocast vs fp32, cheap vs nn.Dropout masks: test AUC on RBP-31 ({recipe_name}, seed 0, same split)",
        "",
        "Each fit trains the recipe as it is (early stopping on validation loss) on the published training part "
        "and is scored once on the test part. Fit seq/s are comparable only where the load average at the "
        "start (last column) was below 0.5; above it other jobs shared the machine (the fits are cached in "
        "`--auc-work`).",
        "",
        "| experiment | fp32 test AUC | bf16 test AUC | difference | bf16, nn.Dropout masks | cheap - nn.Dropout "
        "masks | epochs fp32 / bf16 / nn.Dropout | fp32 fit seq/s | bf16 fit seq/s | bf16 nn.Dropout fit seq/s "
        "| load average |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in auc:
        t = "bf16-mixed+nn.Dropout"
        lines.append(f"| {r['experiment']} | {r['32']:.4f} | {r['bf16-mixed']:.4f} | "
                     f"{r['bf16-mixed'] - r['32']:+.4f} | {r[t]:.4f} | {r['bf16-mixed'] - r[t]:+.4f} | "
                     f"{r['32_epochs']} / {r['bf16-mixed_epochs']} / {r[t + '_epochs']} | "
                     f"{r['32_sps']:,.0f} | {r['bf16-mixed_sps']:,.0f} | {r[t + '_sps']:,.0f} | {r['load']:.1f} |")
    diffs = [r["bf16-mixed"] - r["32"] for r in auc]
    masks = [r["bf16-mixed"] - r["bf16-mixed+nn.Dropout"] for r in auc]
    lines += ["", f"Mean difference (bf16 - fp32): **{np.mean(diffs):+.4f}**; (cheap masks - nn.Dropout masks, "
              f"bf16): **{np.mean(masks):+.4f}**; over {len(diffs)} experiment{'s' if len(diffs) != 1 else ''}.", ""]
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None,
                    help="results file (default benchmarks/results/speed.md; with --only auc, speed_auc.md)")
    ap.add_argument("--recipes", default="multiresbind,rbp31_single,deepripe,deepbind")
    ap.add_argument("--default-recipe", default="multiresbind")
    ap.add_argument("--labels", type=int, default=31, help="outputs K of the timed models")
    ap.add_argument("--n-fold", type=int, default=2000)
    ap.add_argument("--n-per-process", type=int, default=100)
    ap.add_argument("--rbp31", default=None, help="rbp31 folder for the bf16-vs-fp32 AUC check")
    ap.add_argument("--auc-experiments", default="23,24,27")
    ap.add_argument("--auc-work", default="runs/bench_speed_auc", help="cached bf16-vs-fp32 fits (resumable)")
    ap.add_argument("--only", choices=["auc"], default=None,
                    help="run only the bf16-vs-fp32 AUC fits (accuracy, not timing: may run on a busy machine)")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    t_all, commit = time.perf_counter(), git_commit()
    if args.out is None:  # --only auc never replaces the full run's file unless asked to
        args.out = f"benchmarks/results/speed{'_auc' if args.only == 'auc' else ''}.md"
    if args.only == "auc":  # accuracy only: its own file (--out), the timing sections are not rerun
        if not args.rbp31:
            ap.error("--only auc needs --rbp31")
        auc = bf16_auc(args.rbp31, args.auc_experiments.split(","), args.default_recipe, Path(args.auc_work))
        lines = [f"# Accuracy of the fast settings ({_cpu()}; native bf16: {'yes' if native_bf16('cpu') else 'no'})",
                 "", "The AUC section of `speed.md`, run on its own (`--only auc`) for other experiments.", "",
                 *auc_lines(auc, args.default_recipe)]
        write_text_atomic(args.out, "\n".join(lines + reproduce_footer(commit, t_all)))
        print(f"wrote {args.out}")
        return
    print("matmul rates ...", flush=True)
    mm_only = {"fp32": matmul_gflops(torch.float32), "bf16": matmul_gflops(torch.bfloat16)}
    conv = {"fp32": conv_gflops(torch.float32), "bf16": conv_gflops(torch.bfloat16)}
    mm = {k: max(mm_only[k], conv[k]) for k in mm_only}  # the roofline reference: the best dense rate measured
    rows = []
    for name in args.recipes.split(","):
        rows += model_rates(load_recipe(name), args.labels, mm)
    print("end to end ...", flush=True)
    e2e = [end_to_end(args.default_recipe, precision=p) for p in ("32", "bf16-mixed")]
    print("featurisation ...", flush=True)
    feat = featurisation(args.n_fold, args.n_per_process)
    auc = (bf16_auc(args.rbp31, args.auc_experiments.split(","), args.default_recipe, Path(args.auc_work))
           if args.rbp31 else [])

    lines = [
        "# Speed on this machine",
        "",
        f"Machine: {_cpu()}; torch {torch.__version__}, {torch.get_num_threads()} threads. "
        f"Dense matmul (`torch.mm`, 2048^3): fp32 {mm_only['fp32']:.0f} GFLOP/s, bf16 {mm_only['bf16']:.0f} GFLOP/s; "
        f"dense conv1d (oneDNN, 8 x 512 x 1024, 512 x 3 filters): fp32 {conv['fp32']:.0f} GFLOP/s, bf16 "
        f"{conv['bf16']:.0f} GFLOP/s. Roofline reference below = the better of the two: **fp32 {mm['fp32']:.0f} "
        f"GFLOP/s**, **bf16 {mm['bf16']:.0f} GFLOP/s** (on AMD CPUs MKL's sgemm is slower than oneDNN's kernels).",
        "",
        "## Models at 101 nt (raw training step / inference loop, synthetic one-hot input, "
        f"K = {args.labels} outputs)",
        "",
        "Training = forward + masked BCE + backward + Adam step. FLOPs per sequence are forward FLOPs counted by "
        "`torch.utils.flop_counter`; training GFLOP/s counts 3x forward. Roofline = achieved GFLOP/s / reference "
        "GFLOP/s of the same precision.",
        "",
        "| recipe | params | MFLOP/seq | precision | batch | train seq/s | train seq/s, nn.Dropout masks (after / "
        "before) | infer seq/s | train GFLOP/s (roofline) | infer GFLOP/s (roofline) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['recipe']} | {r['params']:,} | {r['mflop_fwd']:.1f} | {r['precision']} | {r['batch']} | "
            f"{r['train_sps']:,.0f} | {r['train_torch_sps']:,.0f} ({r['train_sps'] / r['train_torch_sps']:.2f}x) | "
            f"{r['infer_sps']:,.0f} | {r['train_gflops']:.1f} ({r['train_roofline']:.0%}) | "
            f"{r['infer_gflops']:.1f} ({r['infer_roofline']:.0%}) |")
    lines += [
        "",
        f"## End to end: `rnalabel.engine.training.fit` and `rnalabel.engine.predict.predict` ({args.default_recipe}, 5 labels, "
        "synthetic demo data)",
        "",
        "Training rate = training rows x epochs / training wall time (Lightning loop, batch slicing, validation "
        "each epoch included). Predict rate includes featurisation and windowing.",
        "",
        "| precision | training rows | epochs | fit seq/s | predict seq/s | RSS per epoch (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for e in e2e:
        lines.append(f"| {e['precision']} | {e['n_train']:,} | {e['epochs']} | {e['fit_train_sps']:,.0f} | "
                     f"{e['predict_sps']:,.0f} | {e['rss_mb']} |")
    lines += [
        "",
        "## Featurisation (101 nt)",
        "",
        "| view | sequences/s |",
        "|---|---|",
        f"| one-hot (200,000 sequences) | {feat['onehot_sps']:,.0f} |",
        f"| k-mer frequencies k = 1, 2, 3 (20,000) | {feat['kmer_sps']:,.0f} |",
        f"| structure loop contexts, cache cold ({feat['n_fold']} sequences, {feat['structure_processes']} "
        f"processes) | {feat['structure_cold_sps']:,.1f} |",
        f"| structure loop contexts, cache warm | {feat['structure_warm_sps']:,.0f} |",
        f"| one folding process per sequence: {feat['per_process_tool']} ({feat['per_process_n']} sequences) | "
        f"{feat['per_process_sps']:,.1f} |",
        "",
        f"Cold cache vs one process per sequence: **{feat['structure_cold_sps'] / feat['per_process_sps']:.1f}x**; "
        f"warm cache vs one process per sequence: "
        f"**{feat['structure_warm_sps'] / feat['per_process_sps']:,.0f}x**.",
        "",
    ]
    lines += auc_lines(auc, args.default_recipe)
    write_text_atomic(args.out, "\n".join(lines + reproduce_footer(commit, t_all)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
