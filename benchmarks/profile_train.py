"""Where a training step of the default recipe spends its time (issue: faster training).

1. A raw PyTorch step of Multi-resBind at 101 nt (batch 128, 31 outputs), timed phase by phase: forward, masked
   BCE, backward, Adam step, in fp32 and in bf16 autocast.
2. The same step inside Lightning (``rnalabel.engine.lightning.make_lightning_module`` + ``pl.Trainer``, in-memory
   tensors through the same DataLoader ``fit`` uses, no validation): seconds per step, so the loop's own overhead is
   the difference with (1).
3. ``torch.profiler``: the operators that take the most self CPU time in one raw step (fp32 and bf16).

Usage::

    python benchmarks/profile_train.py --out benchmarks/results/profile_train.md

Run it on a quiet machine: other processes on the same cores change every number.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rbp31 import git_commit, write_result  # noqa: E402
from speed import random_inputs, recipe_inputs  # noqa: E402

from rnalabel.engine.losses import masked_bce  # noqa: E402
from rnalabel.engine.recipe import load_recipe  # noqa: E402
from rnalabel.models.registry import build_model  # noqa: E402

K = 31


def phases(model, x, y, bf16: bool, steps: int) -> dict[str, float]:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    acc = {"forward": [], "loss": [], "backward": [], "optimizer": []}
    for i in range(steps + 3):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
        t1 = time.perf_counter()
        loss = masked_bce(out, y)
        t2 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        if i >= 3:  # warm-up excluded
            for k, v in zip(acc, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                acc[k].append(v)
    return {k: float(np.median(v)) for k, v in acc.items()}


def lightning_step(model, x, y, bf16: bool, steps: int) -> float:
    from rnalabel.engine.checkpoints import _lightning
    from rnalabel.engine.lightning import ViewTensors, _loader, make_lightning_module
    from rnalabel.engine.recipe import TrainConfig

    pl = _lightning()
    n = len(y) * steps
    big_x = {k: v.repeat(steps, *([1] * (v.dim() - 1))) for k, v in x.items()}
    big_y = y.repeat(steps, 1)
    dl = _loader(ViewTensors({k: v.numpy() for k, v in big_x.items()}, big_y.numpy()), len(y), True, 0, 0)
    cfg = TrainConfig(batch_size=len(y), max_epochs=1, precision="bf16-mixed" if bf16 else "32")
    lit = make_lightning_module(model, cfg, None)
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", devices=1, precision="bf16-mixed" if bf16 else "32",
                         logger=False, enable_checkpointing=False, enable_model_summary=False,
                         enable_progress_bar=False, num_sanity_val_steps=0, limit_val_batches=0)
    t = time.perf_counter()
    trainer.fit(lit, train_dataloaders=dl)
    return (time.perf_counter() - t) / (2 * n / len(y))


def top_ops(model, x, y, bf16: bool, n: int = 12) -> list[tuple[str, float, int]]:
    from torch.profiler import ProfilerActivity, profile

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
        loss = masked_bce(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    rows = sorted(events, key=lambda e: -e.self_cpu_time_total)[:n]
    return [(e.key, e.self_cpu_time_total / total, e.count // 5) for e in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recipe", default="multiresbind")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/profile_train.md"))
    args = ap.parse_args()
    t0, commit = time.perf_counter(), git_commit()
    rec = load_recipe(args.recipe)
    inputs = recipe_inputs(rec)
    torch.manual_seed(0)
    x = random_inputs(inputs, args.batch)
    y = (torch.rand(args.batch, K) > 0.7).float()
    load = os.getloadavg()[0]
    rows, light, ops = [], {}, {}
    for prec in ("fp32", "bf16"):
        bf16 = prec == "bf16"
        model = build_model(rec.model, inputs=inputs, n_labels=K, params=rec.params)
        ph = phases(model, x, y, bf16, args.steps)
        raw = sum(ph.values())
        light[prec] = lightning_step(build_model(rec.model, inputs=inputs, n_labels=K, params=rec.params), x, y,
                                     bf16, args.steps)
        ops[prec] = top_ops(build_model(rec.model, inputs=inputs, n_labels=K, params=rec.params), x, y, bf16)
        rows.append((prec, ph, raw))
        print(f"{prec}: raw step {raw * 1000:.1f} ms ({args.batch / raw:.0f} seq/s); Lightning step "
              f"{light[prec] * 1000:.1f} ms ({args.batch / light[prec]:.0f} seq/s)", flush=True)

    lines = ["# Where a training step spends its time", "",
             f"`{args.recipe}` at 101 nt, batch {args.batch}, {K} outputs, synthetic one-hot input, on this machine "
             f"({os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads; load average "
             f"{load:.1f} at the start: other processes on these cores slow every number). Medians over "
             f"{args.steps} steps after 3 warm-up steps.", "",
             "| precision | forward ms | loss ms | backward ms | Adam step ms | raw step ms (seq/s) | Lightning step ms "
             "(seq/s) | loop overhead |", "|---|---|---|---|---|---|---|---|"]
    for prec, ph, raw in rows:
        lt = light[prec]
        lines.append(f"| {prec} | {ph['forward'] * 1e3:.1f} | {ph['loss'] * 1e3:.2f} | {ph['backward'] * 1e3:.1f} | "
                     f"{ph['optimizer'] * 1e3:.2f} | {raw * 1e3:.1f} ({args.batch / raw:,.0f}) | {lt * 1e3:.1f} "
                     f"({args.batch / lt:,.0f}) | {(lt - raw) / lt:+.0%} |")
    lines += ["", "Loop overhead = (Lightning step - raw step) / Lightning step: what the training loop (Lightning, the "
              "DataLoader's batch fetch, logging) adds to the arithmetic.", ""]
    for prec in ("fp32", "bf16"):
        lines += [f"## Operators by self CPU time, one raw {prec} step", "", "| operator | share | calls per step |",
                  "|---|---|---|"]
        lines += [f"| `{k}` | {share:.1%} | {c} |" for k, share, c in ops[prec]]
        lines.append("")
    write_result(args.out, lines, commit, t0)


if __name__ == "__main__":
    main()
