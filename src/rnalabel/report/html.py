"""``rnalabel report``: one self-contained HTML file from what a run folder already holds.

Sections (each only when the run has what it needs): the model (kind, model, recipe, labels, provenance), the
data (label counts, split sizes; with the dataset at hand, an UpSet plot of label co-occurrence and a length
histogram), training curves (``history.tsv`` or the card's history), the per-label metrics with their thresholds,
ROC and PR curves (``curves.png``), the explain logos and motifs (PNG files under the run folder), and the full
card. Every image is embedded (base64 PNG), so the file opens offline and can be mailed. Rendered with jinja2
from ``templates/report.html.j2``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rnalabel.data import Dataset
from rnalabel.errors import InputError, ModelFileError

TEMPLATES = Path(__file__).parent / "templates"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _file_png(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def label_counts_png(counts: dict[str, dict[str, int]], max_labels: int = 40) -> str:
    plt = _plt()
    names = list(counts)[:max_labels]
    pos = [counts[n].get("positive", 0) for n in names]
    neg = [counts[n].get("negative", 0) for n in names]
    fig, ax = plt.subplots(figsize=(max(5, 0.35 * len(names) + 2), 3.2))
    x = np.arange(len(names))
    ax.bar(x, pos, color="#c2410c", label="bound (1)")
    ax.bar(x, neg, bottom=pos, color="#9fb7cf", label="not bound (0)")
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("training rows")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("labels in the training split" + (f" (first {max_labels})" if len(counts) > max_labels else ""))
    return _png(fig)


def upset_png(ds: Dataset, max_labels: int = 12) -> str | None:
    """UpSet plot of which labels occur together (bound rows); None when upsetplot is missing or nothing is bound."""
    try:
        import pandas as pd
        from upsetplot import UpSet, from_indicators
    except ImportError:  # pragma: no cover - in the report extra, installed by the Makefile
        return None
    y = ds.labels == 1
    keep = np.argsort(-y.sum(axis=0))[:max_labels]
    names = [ds.label_names[j] for j in keep]
    ind = pd.DataFrame(y[:, keep], columns=names)
    ind = ind[ind.any(axis=1)]
    if ind.empty:
        return None
    plt = _plt()
    fig = plt.figure(figsize=(9, 4.5))
    class _UpSet(UpSet):
        """upsetplot 0.9 fills missing dot styles with ``fillna(inplace=True)`` on a column, which pandas >= 3
        (copy-on-write) ignores, leaving NaN colours: fill them before they reach matplotlib."""

        def plot_matrix(self, ax):
            scatter = ax.scatter

            def filled(*args, **kw):
                def fix(values, default):
                    return [default(i) if (isinstance(v, float) and v != v) else v for i, v in enumerate(values)]

                face = fix(list(kw.get("facecolors", [])), lambda i: "#1d2733")
                kw["facecolors"] = face
                for key, default in (("edgecolors", lambda i: face[i]), ("linewidths", lambda i: 1.0),
                                     ("linestyles", lambda i: "solid")):
                    if key in kw:
                        kw[key] = fix(list(kw[key]), default)
                return scatter(*args, **kw)

            ax.scatter = filled
            try:
                return super().plot_matrix(ax)
            finally:
                del ax.scatter

    up = _UpSet(from_indicators(names, data=ind), subset_size="count", min_subset_size=max(1, len(ind) // 500),
                sort_by="cardinality", max_subset_rank=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        up.plot(fig=fig)
    fig.suptitle("label co-occurrence among bound rows" + (f" ({max_labels} most frequent labels)"
                                                          if ds.n_labels > max_labels else ""), fontsize=10)
    return _png(fig)


def lengths_png(ds: Dataset) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 2.8))
    ax.hist(ds.lengths, bins=min(50, max(5, len(np.unique(ds.lengths)))), color="#3a7dc4")
    ax.set_xlabel("sequence length (nt)")
    ax.set_ylabel("sequences")
    ax.set_title(f"lengths (n = {len(ds)})")
    return _png(fig)


def history_png(history: list[dict[str, Any]]) -> str | None:
    rows = [h for h in history if "train_loss" in h]
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3))
    ep = [h.get("epoch", i + 1) for i, h in enumerate(rows)]
    ax.plot(ep, [h["train_loss"] for h in rows], "o-", label="training loss")
    if any("val_loss" in h for h in rows):
        ax.plot(ep, [h.get("val_loss", np.nan) for h in rows], "o-", label="validation loss")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("training curves")
    return _png(fig)


def _history(run: Path, card: dict) -> list[dict[str, Any]]:
    f = run / "history.tsv"
    if f.is_file():
        lines = f.read_text().splitlines()
        if len(lines) > 1:
            cols = lines[0].split("\t")
            out = []
            for ln in lines[1:]:
                row = {}
                for c, v in zip(cols, ln.split("\t"), strict=False):
                    try:
                        row[c] = float(v)
                    except ValueError:
                        continue
                out.append(row)
            return out
    return list((card.get("training") or {}).get("history") or [])


def _dataset(run: Path, data: str | os.PathLike | None) -> Dataset | None:
    from rnalabel.io import read_input

    if data is not None:
        return read_input(data)
    found = sorted((run / "data").glob("*.parquet")) if (run / "data").is_dir() else []
    return read_input(found[0]) if found else None


def build_report(run: str | os.PathLike, *, data: str | os.PathLike | None = None, title: str | None = None) -> str:
    """The HTML text of the report of run folder ``run`` (``data``: the dataset, when the run folder does not
    hold it under ``data/``; ``title``: the run's name, by default the folder's)."""
    import jinja2

    from rnalabel.zoo import model_path

    run = model_path(run)
    card_path = run / "card.json"
    if not card_path.is_file():
        raise InputError("not a run folder (no card.json).", path=run, remedy="give a folder written by rnalabel train.")
    try:
        card = json.loads(card_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"card.json is not valid JSON ({exc}).", path=card_path) from None
    labels = list(card.get("labels") or [])
    thresholds = card.get("thresholds") or {}
    metrics = card.get("metrics") or {}
    split = "test" if "test" in metrics else "val"
    per_label = (metrics.get(split) or {}).get("per_label") or {}
    averages = (metrics.get(split) or {}).get("averages") or {}
    prov = card.get("provenance") or {}
    images: dict[str, str | None] = {}
    counts = prov.get("label_counts_train")
    if counts:
        images["label_counts"] = label_counts_png(counts)
    ds = _dataset(run, data)
    if data is not None and ds is not None and labels:
        shared = [n for n in ds.label_names if n in labels]
        if not shared:
            raise InputError(
                f"the data's labels ({', '.join(ds.label_names[:5])}{', ...' if ds.n_labels > 5 else ''}) include "
                f"none of the model's ({', '.join(labels[:5])}{', ...' if len(labels) > 5 else ''}).", path=data,
                remedy="give the table the model was trained on (or one with its labels).")
    if ds is not None and ds.n_labels:
        images["upset"] = upset_png(ds)
        images["lengths"] = lengths_png(ds)
    elif ds is not None:
        images["lengths"] = lengths_png(ds)
    images["history"] = history_png(_history(run, card))
    if (run / "curves.png").is_file():
        images["curves"] = _file_png(run / "curves.png")
    explain = [(str(p.relative_to(run)), _file_png(p)) for p in sorted(run.rglob("*.png"))
               if p.name != "curves.png" and p.stat().st_size < 5_000_000][:24]
    rows = []
    for n in labels:
        m = per_label.get(n) or {}
        rows.append({"label": n, "threshold": thresholds.get(n) if isinstance(thresholds, dict) else None, **m})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html", "j2"]))
    return env.get_template("report.html.j2").render(
        run=title or run.resolve().name, card=card, card_json=json.dumps(card, indent=1), labels=labels, rows=rows,
        averages=averages, split=split, prov=prov, images=images, explain=explain,
        splits={k: prov.get(f"n_{k}") for k in ("train", "val", "test")},
        dataset=None if ds is None else {"n": len(ds), "labels": ds.n_labels},
        untrained=card.get("untrained_labels") or [],
        artifacts=sorted((card.get("artifacts") or {}).items()),
    )


def write_report(run: str | os.PathLike, out: str | os.PathLike | None = None, *,
                 data: str | os.PathLike | None = None, title: str | None = None, overwrite: bool = False) -> Path:
    """Write the report of ``run`` to ``out`` (default ``RUN/report.html``) atomically; returns its path.
    ``title``: the run's name (default: the folder's; a run being written in a temporary folder gives its own).
    An existing ``out`` is replaced only with ``overwrite``."""
    from rnalabel.data import atomic_path
    from rnalabel.zoo import is_zoo

    if out is None and is_zoo(run):  # never write into the installed package
        raise InputError("is a zoo model; its report needs a place of its own.", path=Path(run),
                         remedy="give --out FILE.html.")
    out = Path(out) if out is not None else Path(run) / "report.html"

    if out.exists() and not overwrite:
        raise InputError("exists; the report would replace it.", path=out,
                         remedy="give --overwrite to replace it, or another --out.")

    with atomic_path(out) as tmp:
        tmp.write_text(build_report(run, data=data, title=title), encoding="utf-8")
    return out


__all__ = ["build_report", "write_report"]
