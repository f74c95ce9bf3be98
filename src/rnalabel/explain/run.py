"""One call per label: attributions, attribution maps, in-silico mutagenesis, motifs; and the files they make.

:func:`explain` returns arrays (Python API); :func:`write_explanation` writes them; :func:`explain_run` does
both for a run folder and an input file (what ``rnalabel explain`` calls).

Which windows are explained, per label (the paper's choice, generalised):

* **positives**: windows predicted at or above the card's threshold for the label, and not labelled 0 when the
  input carries values for that label (the paper: "predicted scores > 0.5 and labels = 1"). At most
  ``max_positives`` are attributed: the ``top`` best-scoring ones and a seeded random sample of the others (the
  very best-scoring windows of CLIP data are often low-complexity repeats, so taking only those would bias the
  motifs). Their seqlets make the motifs.
* **top**: the ``top`` best-scoring positives are drawn (the paper: three); with no positive at all, the ``top``
  best-scoring windows are drawn and no motif is sought.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rnalabel.data import Dataset, atomic_path, write_text_atomic
from rnalabel.data.files import atomic_dir, safe_filename
from rnalabel.data.sequence import ALPHABET
from rnalabel.engine.bundle import Bundle
from rnalabel.errors import InputError
from rnalabel.explain.attribution import integrated_gradients
from rnalabel.explain.baselines import BASELINES, low_score_baseline
from rnalabel.explain.core import Attributions, label_scores, prepare_windows
from rnalabel.explain.motifs import Motif, Seqlets, discover_motifs, extract_seqlets, write_meme
from rnalabel.explain.mutagenesis import in_silico_mutagenesis


@dataclass
class LabelExplanation:
    """Everything :func:`explain` found for one label.

    Attributes
    ----------
    label : str
    attributions : Attributions
        Integrated gradients of the explained windows (positives, best first).
    top : numpy.ndarray
        Rows of ``attributions`` that are drawn (the ``top`` best-scoring).
    ism : Attributions or None
        In-silico mutagenesis of the drawn windows.
    ism_agreement : numpy.ndarray, shape=(len(top),)
        Pearson correlation between the IG and ISM per-nucleotide tracks of each drawn window.
    seqlets : Seqlets or None
    motifs : list of Motif
        Best first.
    n_positive : int
        Positive windows found (before the ``max_positives`` cap).
    """

    label: str
    attributions: Attributions
    top: np.ndarray
    ism: Attributions | None = None
    ism_agreement: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seqlets: Seqlets | None = None
    motifs: list[Motif] = field(default_factory=list)
    n_positive: int = 0


def _labels(model: Bundle, label: str | Sequence[str]) -> list[str]:
    names = [label] if isinstance(label, str) else list(label)
    if names == ["all"]:
        return list(model.label_names)
    return [model.label_names[model.label_index(n)] for n in names]


def explain(
    model: Bundle,
    data: Dataset,
    *,
    label: str | Sequence[str],
    top: int = 3,
    baseline: str = "low-score",
    reference: Dataset | None = None,
    n_low: int = 2000,
    n_shuffles: int = 8,
    steps: int = 50,
    output: str = "logit",
    max_positives: int = 500,
    motifs: bool = True,
    ism: bool = True,
    seed: int = 0,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    progress: bool = True,
    precision: str = "auto",
) -> dict[str, LabelExplanation]:
    """Explain the predictions of ``model`` on ``data`` for one or more labels.

    Parameters
    ----------
    model : Bundle
    data : Dataset
        Sequences (and labels, optional); long ones are scanned with the card's window and stride.
    label : str or sequence of str
        Label name(s); ``"all"`` for every label.
    top : int
        Windows drawn per label. Default is 3.
    baseline : "low-score", "zero" or "shuffle"
        Default is "low-score".
    reference : Dataset, optional
        Where the low-score baseline's windows come from. Default is ``data``.
    n_low : int
        Default is 2000.
    n_shuffles : int
        Default is 8.
    steps : int
        Default is 50.
    output : "logit" or "probability"
        Default is "logit".
    max_positives : int
        Most positive windows attributed for the motifs (the ``top`` best and a seeded random sample of the
        rest). Default is 500.
    motifs : bool
        Discover motifs. Default is True.
    ism : bool
        Cross-check the drawn windows with in-silico mutagenesis. Default is True.
    seed : int
        Default is 0.
    batch_size : int
        Default is 64.
    device : str, optional
        Default is None (CUDA when present, else CPU).
    progress : bool
        Default is True.
    precision : "auto", "32" or "bf16"
        Arithmetic of the forward pass that decides which windows are positive and ranks them: "auto" is the
        model's training precision, so the positives are the windows :func:`rnalabel.engine.predict.predict`
        calls. Attributions, the low-score baseline and the completeness check always run in fp32. Default is
        "auto".

    Returns
    -------
    dict of str to LabelExplanation
    """
    for name, value in (("n_low", n_low), ("n_shuffles", n_shuffles), ("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (2 if name == "steps" else 1):
            raise InputError(f"{name} must be a whole number of at least {2 if name == 'steps' else 1}, got {value!r}.")
    if top < 1 or max_positives < top:
        raise InputError(f"top ({top}) must be at least 1 and max_positives ({max_positives}) at least top.",
                         remedy="e.g. --top 3 --max-positives 500.")
    names = _labels(model, label)
    win = prepare_windows(model, data)
    ref = win if reference is None else prepare_windows(model, reference)
    out: dict[str, LabelExplanation] = {}
    for name in names:
        j = model.label_index(name)
        logit = label_scores(model, win.arrays, label=j, device=device, precision=precision)
        prob = 1.0 / (1.0 + np.exp(-logit))
        positive = prob >= float(model.thresholds[j])
        if name in data.label_names:
            known = data.labels[win.source, data.label_index(name)]
            positive &= ~(known == 0)  # a window labelled 0 is not a positive, an unknown one may be
        pos = np.flatnonzero(positive)
        order = pos[np.argsort(-logit[pos], kind="stable")]
        if len(order) > max_positives:
            keep = max(0, max_positives - top)
            rest = np.random.default_rng(seed).choice(order[top:], size=keep, replace=False)
            order = np.r_[order[:top], rest[np.argsort(-logit[rest], kind="stable")]][:max_positives]
        if len(order) == 0:
            order = np.argsort(-logit, kind="stable")[:top]
        base = baseline
        if baseline == "low-score":
            base = low_score_baseline(model, ref, label=j, n_low=n_low, device=device)
        attr = integrated_gradients(
            model, win.subset(order), label=j, baseline=base, n_shuffles=n_shuffles, steps=steps, output=output,
            seed=seed, batch_size=batch_size, device=device, progress=progress,
        )
        shown = np.arange(min(top, len(order)))
        res = LabelExplanation(name, attr, shown, n_positive=int(len(pos)))
        if ism and len(shown):
            res.ism = in_silico_mutagenesis(model, attr.windows.subset(shown), label=j, output=output,
                                            device=device, progress=False)
            res.ism_agreement = np.asarray([
                _pearson(attr.sequence_track[i], res.ism.nucleotide["ism"][k], int(attr.windows.lengths[i]))
                for k, i in enumerate(shown)
            ])
        if motifs and len(pos) and attr.nucleotide:  # motifs need attributions on the nucleotides
            res.seqlets = extract_seqlets(attr.sequence_track, attr.windows.tokens, attr.windows.lengths)
            res.motifs = discover_motifs(res.seqlets)
        out[name] = res
    return out


def _pearson(a: np.ndarray, b: np.ndarray, n: int) -> float:
    a, b = a[:n], b[:n]
    if np.std(a) < 1e-12 or np.std(b) < 1e-12:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


# files ------------------------------------------------------------------------------------------------------
def _safe(name: str) -> str:
    return safe_filename(name)


def write_attributions_tsv(attr: Attributions, rows: np.ndarray, path: str | os.PathLike) -> Path:
    """Raw attributions of windows ``rows``: one line per view, channel and position of the view's input.

    Columns: ``id``, ``window_start`` (1-based), ``view``, ``channel``, ``position`` (1-based, in the view's
    own axis), ``input``, ``attribution``. Per-sequence views have ``position`` 0.
    """
    lines = ["\t".join(["id", "window_start", "view", "channel", "position", "input", "attribution"])]
    w = attr.windows
    for i in rows:
        sid, st = str(w.ids[i]), str(int(w.start[i]) + 1)
        for k, v in attr.values.items():
            x = w.arrays[k][i] if k in w.arrays else np.zeros_like(v[i])
            names = attr.channel_names[k]
            if v.ndim == 3:
                for c in range(v.shape[1]):
                    for p in np.flatnonzero((v[i, c] != 0) | (x[c] != 0)):
                        lines.append(f"{sid}\t{st}\t{k}\t{names[c]}\t{p + 1}\t{x[c, p]:.6g}\t{v[i, c, p]:.6g}")
            else:
                for c in np.flatnonzero((v[i] != 0) | (x != 0)):
                    lines.append(f"{sid}\t{st}\t{k}\t{names[c]}\t0\t{x[c]:.6g}\t{v[i, c]:.6g}")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return Path(path)


def write_nucleotides_tsv(res: LabelExplanation, path: str | os.PathLike) -> Path:
    """Per-nucleotide contributions of the drawn windows: one column per mapped view, the total, and ISM."""
    a = res.attributions
    views = list(a.nucleotide)
    head = ["id", "position", "base", *views, "total"] + (["ism"] if res.ism is not None else [])
    lines = ["\t".join(head)]
    for k, i in enumerate(res.top):
        w = a.windows
        for p in range(int(w.lengths[i])):
            t = int(w.tokens[i, p])
            vals = [a.nucleotide[v][i, p] for v in views] + [a.total[i, p]]
            if res.ism is not None:
                vals.append(res.ism.nucleotide["ism"][k, p])
            lines.append("\t".join([str(w.ids[i]), str(int(w.start[i]) + p + 1), (ALPHABET + "N")[min(t, 4)],
                                    *(f"{x:.6g}" for x in vals)]))
    return write_text_atomic(path, "\n".join(lines) + "\n")


def write_motifs_tsv(motifs: Sequence[Motif], path: str | os.PathLike) -> Path:
    """One line per motif: rank, consensus, support, best and second-best published match with scores."""
    head = ["rank", "name", "consensus", "width", "n_seqlets", "n_windows", "contribution", "seed",
            "best_match", "best_consensus", "similarity", "offset", "second_match", "second_similarity"]
    lines = ["\t".join(head)]
    for r, m in enumerate(motifs, 1):
        b = m.matches[0] if m.matches else None
        s = m.matches[1] if len(m.matches) > 1 else None
        lines.append("\t".join(str(x) for x in [
            r, m.name, m.consensus, len(m.pwm), m.n_seqlets, m.n_windows, f"{m.contribution:.4g}", m.seed,
            b.rbp if b else "", b.consensus if b else "", f"{b.score:.3f}" if b else "", b.offset if b else "",
            s.rbp if s else "", f"{s.score:.3f}" if s else "",
        ]))
    return write_text_atomic(path, "\n".join(lines) + "\n")


def write_explanation(
    results: dict[str, LabelExplanation], out: str | os.PathLike, *, summary: bool = True
) -> list[Path]:
    """Write every label's maps (PNG), attributions (TSV), motifs (TSV, MEME, PNG) and a summary.

    Layout: ``out/<label>/map_<rank>_<id>.png`` (IG), ``ism_<rank>_<id>.png``, ``attributions.tsv``,
    ``nucleotides.tsv``, ``motifs.tsv``, ``motifs.meme``, ``motifs.png``; ``out/summary.json`` and
    ``out/summary.md`` unless ``summary`` is False.
    """
    from rnalabel.explain.plots import plot_attribution_map, plot_motifs

    out = Path(out)
    files: list[Path] = []
    table = {}
    for name, res in results.items():
        d = out / _safe(name)
        a = res.attributions
        for r, i in enumerate(res.top, 1):
            stem = f"{r}_{_safe(a.windows.ids[i])}"
            files.append(plot_attribution_map(a, int(i), d / f"map_{stem}.png"))
            if res.ism is not None:
                files.append(plot_attribution_map(res.ism, r - 1, d / f"ism_{stem}.png"))
        files.append(write_attributions_tsv(a, res.top, d / "attributions.tsv"))
        files.append(write_nucleotides_tsv(res, d / "nucleotides.tsv"))
        if res.seqlets is not None:
            files.append(write_motifs_tsv(res.motifs, d / "motifs.tsv"))
            files.append(write_meme(res.motifs, d / "motifs.meme", prefix=f"{_safe(name)}_"))
            files.append(plot_motifs(res.motifs, d / "motifs.png", title=f"{name}: motifs from "
                                     f"{len(res.seqlets)} seqlets of {len(a)} positive windows"))
        table[name] = _summary(res)
    if summary:
        files.append(write_text_atomic(out / "summary.json", json.dumps(table, indent=2) + "\n"))
        files.append(write_text_atomic(out / "summary.md", _summary_md(table)))
    return files


def _summary(res: LabelExplanation) -> dict:
    a = res.attributions
    gap = a.relative_delta
    d = {
        "windows_attributed": len(a), "positives": res.n_positive, "baseline": a.baseline,
        "baseline_samples": a.info.get("n_baseline_samples"), "steps": a.steps, "output": a.output,
        "completeness_gap_max": float(gap.max()) if len(gap) else None,
        "completeness_gap_median": float(np.median(gap)) if len(gap) else None,
        "drawn": [str(a.windows.ids[i]) for i in res.top],
        "ism_agreement": [None if np.isnan(x) else round(float(x), 3) for x in res.ism_agreement],
        "unmapped_views": a.unmapped, "motifs": [],
    }
    for m in res.motifs:
        b = m.best_match
        d["motifs"].append({"name": m.name, "consensus": m.consensus, "n_seqlets": m.n_seqlets,
                            "best_match": b.rbp if b else None, "similarity": round(b.score, 3) if b else None})
    return d


def _summary_md(summary: dict) -> str:
    lines = ["# rnalabel explain: summary", "",
             "| label | windows | baseline | completeness gap (max) | IG vs ISM r | top motif | best match (similarity) |",
             "|---|---|---|---|---|---|---|"]
    for name, d in summary.items():
        m = d["motifs"][0] if d["motifs"] else None
        r = [x for x in d["ism_agreement"] if x is not None]
        lines.append(
            f"| {name} | {d['windows_attributed']} | {d['baseline']} | "
            f"{100 * (d['completeness_gap_max'] or 0):.1f}% | {', '.join(f'{x:.2f}' for x in r) or '-'} | "
            f"{m['consensus'] if m else '-'} | "
            f"{(m['best_match'] + ' (' + format(m['similarity'], '.2f') + ')') if m and m['best_match'] else '-'} |"
        )
    return "\n".join(lines) + "\n"


def explain_run(
    model_dir: str | os.PathLike,
    data: Dataset | str | os.PathLike,
    out: str | os.PathLike,
    *,
    label: str | Sequence[str],
    reference: Dataset | str | os.PathLike | None = None,
    overwrite: bool = False,
    **kwargs,
) -> dict[str, LabelExplanation]:
    """Load a run folder, explain ``data`` (a Dataset or a file :func:`rnalabel.io.read_input` reads) for
    ``label`` and write everything under ``out``, all or nothing (an existing explain folder is replaced only with
    ``overwrite``). Keyword arguments go to :func:`explain`."""
    from rnalabel.engine.bundle import load_model
    from rnalabel.errors import InputError
    from rnalabel.io import read_input

    if kwargs.get("baseline", "low-score") not in BASELINES:
        raise InputError(f"unknown baseline {kwargs['baseline']!r}.", remedy=f"choose one of: {', '.join(BASELINES)}.")
    with atomic_dir(out, overwrite=overwrite, markers=("summary.json",)) as folder:
        model = load_model(model_dir)
        ds = data if isinstance(data, Dataset) else read_input(data)
        if len(ds) == 0:
            raise InputError("the input has no sequences.", path=None if isinstance(data, Dataset) else data)
        ref = reference if reference is None or isinstance(reference, Dataset) else read_input(reference)
        results = explain(model, ds, label=label, reference=ref, **kwargs)
        write_explanation(results, folder)
    return results
