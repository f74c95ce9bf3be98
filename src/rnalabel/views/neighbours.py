"""Neighbour view: the labels of the training sequences most like this one, weighted by alignment similarity.

For short RNAs scored whole (miRNAs), where a sequence's closest relatives in the training set say much about it
(paralogues, family members, isomiRs). :meth:`Neighbours.fit` keeps the training rows (sequences and labels) as
artifacts of the view; :meth:`Neighbours.transform` aligns every row with each of them (global alignment,
Biopython's ``PairwiseAligner``: match +1, mismatch -1, gap open -2, extend -1; score divided by the longer
length: 1 is identity, N scores 0), takes the ``k`` most similar and returns, per label, the mean of their labels weighted
by ``exp(temperature * similarity)`` (unknown labels are left out of that label's mean), then the similarity of
the nearest one and the mean similarity of the ``k``: a per-sequence view of ``n_labels + 2`` values.

Training featurises its own units through :meth:`Neighbours.transform_training`: each is scored by the *other*
training rows (leave-one-out: its row is left out for the row itself, its windows and its shortened copies
``<id>:short<a>-<b>``, matched by id and sequence), so the model cannot learn to read its own label back.
Everything else (validation, test, prediction, explanation) goes through :meth:`Neighbours.transform`, which
uses every training row whatever a row is called: a training miRNA predicted later finds itself at similarity 1.
Unknown (NaN) labels are left out of a label's mean; when none of the k is known, the label's training prior.

Precursors (optional, ``precursors``: a FASTA file such as miRBase's ``hairpin.fa``, read once by :meth:`fit`):
two different RNAs that are both cut from one precursor (the 5p and 3p arms of a hairpin, which share little
sequence but are transcribed together) count as relatives at similarity at least ``sibling_similarity``. Only
the precursors that hold a training sequence are kept (the ``precursor_sequences`` artifact), so the model needs
no file at prediction. A sequence counts as cut from a precursor when it occurs in it whole and is at least
:data:`MIN_PRECURSOR_MATCH` nt long (shorter ones occur by chance).

``k = 0``, ``temperature = -1`` and ``sibling_similarity = -1`` (the defaults) are chosen by :meth:`fit` from the
training rows alone, by leave-one-out macro AUROC over :data:`K_GRID` x :data:`TEMPERATURE_GRID` (x
:data:`SIBLING_GRID` when precursors are given); the chosen values go into the card and the whole grid into the
``selection`` artifact. Cost: one alignment per (row, training row) pair, about
5 microseconds for two miRNAs on one core (1,921 human miRNAs against 840 training miRNAs: 8.4 s; choosing k and
temperature on the 840: 4.7 s); training sets of more than ``max_reference`` rows are refused rather than made slow.
"""

from __future__ import annotations

import hashlib
import numbers
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from rnalabel.errors import ConfigError, LabelError
from rnalabel.views.base import View, artifact_field, refuse_longer, register_view

if TYPE_CHECKING:
    from rnalabel.data import Dataset

#: the neighbour counts and weight temperatures :meth:`Neighbours.fit` chooses among
K_GRID = (5, 10, 25, 50)
TEMPERATURE_GRID = (0.0, 4.0, 8.0)
#: the similarities given to two RNAs of one precursor that :meth:`Neighbours.fit` chooses among (None: not used)
SIBLING_GRID = (None, 0.5, 0.7, 1.0)
#: the shortest sequence that counts as cut from a precursor it occurs in
MIN_PRECURSOR_MATCH = 16
_SHORT_COPY = re.compile(r":short\d+-\d+$")
_WINDOW = re.compile(r":\d+-\d+$")


def _aligner():
    try:
        from Bio import Align
    except ImportError as exc:
        raise ConfigError("the neighbours view aligns with biopython, which is not installed.",
                          remedy="pip install 'rnalabel[structure]'.") from exc

    al = Align.PairwiseAligner(mode="global", match_score=1.0, mismatch_score=-1.0, open_gap_score=-2.0,
                               extend_gap_score=-1.0)
    al.wildcard = "N"  # N (and any ambiguity code, read as N) scores 0 against anything, itself included
    return al


def _strings(tokens: np.ndarray, lengths: np.ndarray) -> list[str]:
    from rnalabel.data.sequence import decode

    return [decode(tokens[i], int(lengths[i])) for i in range(len(lengths))]


#: the last similarity matrix computed, by content: training asks for the training rows' matrix twice (the
#: leave-one-out choice in fit, then the featurisation of the same rows)
_LAST: dict[str, np.ndarray] = {}


def similarity_matrix(queries: list[str], references: list[str]) -> np.ndarray:
    """Global-alignment similarity of every query with every reference, (Q, R) float32: score / longer length
    (1 for identical sequences without N, lower the more they differ, negative for unrelated ones; N scores 0;
    0 when either is empty). A fresh array every call (the last one is kept, by content, and copied)."""
    key = hashlib.sha256("\n".join(queries).encode() + b"\0" + "\n".join(references).encode()).hexdigest()
    if key in _LAST:
        return _LAST[key].copy()
    out = _align_all(queries, references)
    _LAST.clear()
    _LAST[key] = out
    return out.copy()


def _align_all(queries: list[str], references: list[str]) -> np.ndarray:
    al = _aligner()
    out = np.zeros((len(queries), len(references)), dtype=np.float32)
    memo: dict[str, np.ndarray] = {}
    for i, q in enumerate(queries):
        if q not in memo:
            memo[q] = np.array([al.score(q, r) / max(len(q), len(r)) if q and r else 0.0 for r in references],
                               dtype=np.float32)
        out[i] = memo[q]
    return out


def neighbour_profile(sim: np.ndarray, labels: np.ndarray, k: int, temperature: float, *,
                      prior: np.ndarray | None = None) -> np.ndarray:
    """Per query: the similarity-weighted label mean of its ``k`` most similar references, then the nearest and
    the mean similarity, (Q, K + 2) float32. ``sim`` entries of -inf are never chosen (a query's own row);
    unknown (NaN) labels are left out of their label's mean, which is ``prior`` (default: :func:`label_prior` of
    ``labels``) when none of the k is known."""
    q, r = sim.shape
    k = min(k, r)
    idx = np.argpartition(-sim, k - 1, axis=1)[:, :k] if k < r else np.broadcast_to(np.arange(r), (q, r))
    s = np.take_along_axis(sim, idx, axis=1)
    ok = np.isfinite(s)
    w = np.where(ok, np.exp(temperature * (np.where(ok, s, 0) - 1.0)), 0.0)  # shifted by the maximum, 1: no overflow
    y = labels[idx]  # (Q, k, K)
    known = np.isfinite(y) & ok[:, :, None]
    wy = w[:, :, None] * known
    den = wy.sum(1)
    fallback = np.broadcast_to(label_prior(labels) if prior is None else prior, den.shape)
    prof = np.divide((wy * np.nan_to_num(y)).sum(1), den, out=np.array(fallback, dtype=den.dtype), where=den > 0)
    n_ok = ok.sum(1)
    nearest = np.where(n_ok > 0, np.where(ok, s, -np.inf).max(1), 0.0)
    mean = np.where(ok, s, 0.0).sum(1) / np.maximum(n_ok, 1)
    return np.column_stack([prof, nearest, mean]).astype(np.float32)


def occurrences(sequences: list[str], precursors: list[str]) -> np.ndarray:
    """(S, P) bool: sequence i (of at least :data:`MIN_PRECURSOR_MATCH` nt) occurs whole in precursor j. One
    dictionary look-up per precursor position, not one search per pair."""
    m = MIN_PRECURSOR_MATCH
    by_prefix: dict[str, list[int]] = {}
    for i, q in enumerate(sequences):
        if len(q) >= m:
            by_prefix.setdefault(q[:m], []).append(i)
    out = np.zeros((len(sequences), len(precursors)), dtype=bool)
    for j, p in enumerate(precursors):
        for start in range(len(p) - m + 1):
            for i in by_prefix.get(p[start:start + m], ()):
                if p.startswith(sequences[i], start):
                    out[i, j] = True
    return out


def precursors_holding(sequences: list[str], precursors: list[str]) -> list[str]:
    """The distinct precursors (sorted) in which at least one of ``sequences`` occurs (see :func:`occurrences`)."""
    distinct = sorted(set(precursors))
    return [p for p, hit in zip(distinct, occurrences(list(set(sequences)), distinct).any(0), strict=True) if hit]


def sibling_matrix(queries: list[str], references: list[str], precursors: list[str]) -> np.ndarray:
    """(Q, R) bool: the query and the reference are different sequences that occur in one precursor (see
    :func:`occurrences`)."""
    if not precursors or not queries or not references:
        return np.zeros((len(queries), len(references)), dtype=bool)
    hq = occurrences(queries, precursors).astype(np.float32)
    hr = occurrences(references, precursors).astype(np.float32)
    shared = hq @ hr.T > 0
    return shared & (np.asarray(queries, dtype=object)[:, None] != np.asarray(references, dtype=object)[None, :])


def with_siblings(sim: np.ndarray, siblings: np.ndarray, value: float | None) -> np.ndarray:
    """``sim`` with each sibling pair raised to at least ``value`` (None: unchanged); -inf (a query's own row)
    stays."""
    if value is None:
        return sim
    return np.where(siblings & np.isfinite(sim), np.maximum(sim, np.float32(value)), sim).astype(np.float32)


def _macro_auroc(y: np.ndarray, s: np.ndarray) -> float:
    from rnalabel.engine.metrics import per_label_auc

    auroc = per_label_auc(y, s[:, : y.shape[1]])[0]
    return float(np.nanmean(auroc)) if np.isfinite(auroc).any() else float("nan")


@register_view
@dataclass(frozen=True)
class Neighbours(View):
    """Similarity-weighted labels of the nearest training sequences, (N, n_labels + 2); see the module docstring.

    Parameters
    ----------
    k : int
        Neighbours per sequence; 0 chooses it on the training rows (leave-one-out). Default is 0.
    temperature : float
        Weight ``exp(temperature * similarity)``, 0 to 100; 0 weighs the k equally; -1 chooses it on the
        training rows (leave-one-out). Default is -1.
    max_length : int
        Longest sequence aligned (alignment costs length squared). Default is 200.
    max_reference : int
        Most training rows kept. Default is 20000.
    precursors : str or None
        FASTA file of precursors (e.g. miRBase hairpin.fa), read by :meth:`fit`: RNAs cut from one precursor are
        relatives. Default is None (not used).
    sibling_similarity : float
        The similarity, at least, of two RNAs of one precursor, 0 to 1; -1 chooses it on the training rows
        (leave-one-out, which may also leave the precursors out). Default is -1.
    """

    type = "neighbours"
    kind = "sequence"
    k: int = 0
    temperature: float = -1.0
    max_length: int = 200
    max_reference: int = 20_000
    precursors: str | None = None
    sibling_similarity: float = -1.0
    reference_tokens: Any = artifact_field()
    reference_lengths: Any = artifact_field()
    reference_labels: Any = artifact_field()
    reference_ids: Any = artifact_field()
    label_names: Any = artifact_field()
    selection: Any = artifact_field()
    precursor_sequences: Any = artifact_field()

    def __post_init__(self) -> None:
        for name, low, high in (("k", 0, 10_000), ("max_length", 1, 10_000), ("max_reference", 1, 10_000_000)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not low <= v <= high:
                raise ConfigError(f"neighbours view: {name} must be a whole number from {low} to {high}, got {v!r}.",
                                  remedy=f"set {name} in the view's parameters of the recipe.")
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not (t == -1 or 0 <= t <= 100):
            raise ConfigError(f"neighbours view: temperature must be a number from 0 to 100, or -1 (choose it on "
                              f"the training rows), got {t!r}.", remedy="set temperature in the view's parameters.")
        c = self.sibling_similarity
        if isinstance(c, bool) or not isinstance(c, numbers.Real) or not (c == -1 or 0 <= c <= 1):
            raise ConfigError(f"neighbours view: sibling_similarity must be a number from 0 to 1, or -1 (choose it "
                              f"on the training rows), got {c!r}.",
                              remedy="set sibling_similarity in the view's parameters.")
        if self.precursors is not None and not (isinstance(self.precursors, str) and self.precursors.strip()):
            raise ConfigError(f"neighbours view: precursors must be the path of a FASTA file, got {self.precursors!r}.",
                              remedy="give the path of a FASTA file of precursors (e.g. miRBase hairpin.fa).")

    def channels(self, dataset: Dataset | None = None) -> int:
        if self.label_names is not None:
            return len(self.label_names) + 2
        return (dataset.n_labels if dataset is not None else 0) + 2

    def channel_names(self, dataset: Dataset | None = None) -> list[str]:
        names = list(self.label_names) if self.label_names is not None else list(dataset.label_names if dataset else [])
        return [f"neighbours:{n}" for n in names] + ["neighbours:nearest_similarity", "neighbours:mean_similarity"]

    def _refuse_longer(self, dataset: Dataset) -> None:
        refuse_longer(dataset, self.max_length, "the neighbours view aligns",
                      remedy="give shorter RNAs, or train with a larger `max_length` in the neighbours view.")

    def fit(self, dataset: Dataset) -> Neighbours:
        """Keep the training rows; choose ``k`` and ``temperature`` by leave-one-out when they are not set."""
        if dataset.n_labels == 0:
            raise LabelError("the neighbours view needs labelled training rows.", remedy="train on a labelled table.")
        if len(dataset) > self.max_reference:
            raise ConfigError(f"the neighbours view would keep {len(dataset):,} training rows, more than its "
                              f"max_reference ({self.max_reference:,}): every prediction aligns with all of them.",
                              remedy="raise max_reference in the view, or leave the neighbours view out.")
        self._refuse_longer(dataset)
        width = max(1, int(np.max(dataset.lengths)) if len(dataset) else 1)
        tokens = np.ascontiguousarray(dataset.tokens[:, :width], dtype=np.uint8)
        lengths = np.asarray(dataset.lengths, dtype=np.int64)
        labels = np.asarray(dataset.labels, dtype=np.float32)
        ids = [str(i) for i in dataset.ids]
        pre, sib = None, None  # no precursors given (stored as [])
        if self.precursors is not None:
            seqs = _strings(tokens, lengths)
            pre = precursors_holding(seqs, _read_precursors(self.precursors))
            sib = sibling_matrix(seqs, seqs, pre)  # the training rows' sibling pairs, for the choice below
            if not sib.any():
                raise ConfigError(f"no two training sequences (of at least {MIN_PRECURSOR_MATCH} nt) occur in one "
                                  f"precursor of {self.precursors} ({len(pre)} precursors hold one): the file cannot "
                                  "relate any of them.", path=self.precursors,
                                  remedy="give the precursor hairpins (e.g. miRBase hairpin.fa, not mature.fa), or "
                                  "leave precursors out.")
        fitted = replace(self, reference_tokens=tokens, reference_lengths=lengths, reference_labels=labels,
                         reference_ids=ids, label_names=[str(n) for n in dataset.label_names], selection={},
                         precursor_sequences=[] if pre is None else pre)
        cs = [None] if pre is None else [float(self.sibling_similarity)] if self.sibling_similarity >= 0 else list(
            SIBLING_GRID)
        if self.k > 0 and self.temperature >= 0 and len(cs) == 1:
            return fitted
        raw = fitted._similarities(dataset, training=True, siblings=False)
        ks = [self.k] if self.k > 0 else [k for k in K_GRID if k < len(dataset)] or [max(1, len(dataset) - 1)]
        ts = [float(self.temperature)] if self.temperature >= 0 else list(TEMPERATURE_GRID)
        prior = label_prior(labels)  # once, not per grid point
        grid = {}
        for c in cs:
            sim = raw if sib is None else with_siblings(raw, sib, c)
            for k in ks:
                for t in ts:
                    grid[k, t, c] = _macro_auroc(labels, neighbour_profile(sim, labels, k, t, prior=prior))
        scored = {g: a for g, a in grid.items() if np.isfinite(a)}
        k, t, c = max(scored, key=scored.get) if scored else (ks[0], ts[0], cs[0])
        selection = {"by": "leave-one-out macro AUROC on the training rows",
                     "grid": [{"k": g[0], "temperature": g[1], **({} if pre is None else {"sibling_similarity": g[2]}),
                               "auroc": None if not np.isfinite(a) else round(a, 6)} for g, a in grid.items()]}
        if pre is not None and c is None:  # leave-one-out says the precursors do not help: kept out
            pre, c = [], 0.0
        return replace(fitted, k=int(k), temperature=float(t), selection=selection,
                       precursor_sequences=[] if pre is None else pre,
                       sibling_similarity=float(self.sibling_similarity if c is None else c))

    def remembered(self, dataset: Dataset) -> np.ndarray:
        """Rows whose sequence is one of the stored training rows (their own labels come back through the view)."""
        if self.reference_tokens is None:
            return np.zeros(len(dataset), dtype=bool)
        known = set(self._references())
        return np.asarray([s in known for s in _strings(dataset.tokens, dataset.lengths)], dtype=bool)

    def _references(self) -> list[str]:
        return _strings(np.asarray(self.reference_tokens), np.asarray(self.reference_lengths))

    def _siblings(self, dataset: Dataset) -> np.ndarray:
        return sibling_matrix(_strings(dataset.tokens, dataset.lengths), self._references(),
                              list(self.precursor_sequences or ()))

    def _similarities(self, dataset: Dataset, *, training: bool = False, siblings: bool = True) -> np.ndarray:
        """Similarity of each row to each training row (raised for two RNAs of one precursor when ``siblings``
        and the view has precursors); with ``training``, a unit's own training row is -inf."""
        refs = self._references()
        queries = _strings(dataset.tokens, dataset.lengths)
        sim = similarity_matrix(queries, refs)
        if training:  # leave-one-out: a training unit is scored by the other training rows
            own: dict[str, list[int]] = {}
            for j, rid in enumerate(self.reference_ids):
                own.setdefault(rid, []).append(j)
            for i, qid in enumerate(dataset.ids):
                base = _WINDOW.sub("", _SHORT_COPY.sub("", str(qid)))
                for j in own.get(base, ()):
                    if queries[i] in refs[j]:  # the row itself, one of its windows or a shortened copy of it
                        sim[i, j] = -np.inf
        if siblings and self.precursor_sequences:
            sim = with_siblings(sim, self._siblings(dataset), float(self.sibling_similarity))
        return sim

    def _profile(self, sim: np.ndarray) -> np.ndarray:
        return neighbour_profile(sim, np.asarray(self.reference_labels, dtype=np.float32), self.k, self.temperature)

    def transform(self, dataset: Dataset) -> np.ndarray:
        """Every training row is a candidate neighbour, whatever the rows are called."""
        self._check_fitted()
        self._refuse_longer(dataset)
        return self._profile(self._similarities(dataset))

    def transform_training(self, dataset: Dataset) -> np.ndarray:
        """The training units: each is scored without its own training row (leave-one-out)."""
        self._check_fitted()
        self._refuse_longer(dataset)
        return self._profile(self._similarities(dataset, training=True))

    def _check_fitted(self) -> None:
        if self.reference_tokens is None:
            raise ConfigError("the neighbours view has no training rows: it must be fitted on training data first.",
                              remedy="train a recipe with it (fit keeps the training rows), or load a model that has it.")
        if self.k < 1 or self.temperature < 0 or (self.precursor_sequences and self.sibling_similarity < 0):
            raise ConfigError(f"a fitted neighbours view needs k >= 1, temperature >= 0 and, with precursors, "
                              f"sibling_similarity >= 0 (got k {self.k}, temperature {self.temperature}, "
                              f"sibling_similarity {self.sibling_similarity}): the model card was edited.",
                              remedy="use the model as training wrote it, or train it again.")

    def with_artifacts(self, values: dict[str, Any]) -> Neighbours:
        if values and "precursor_sequences" not in values and self.precursors is None and self.sibling_similarity == -1:
            values = {**values, "precursor_sequences": []}  # a model from before precursors existed
        view = super().with_artifacts(values)
        if view.reference_tokens is None:
            return view
        bad = _bad_reference(view)
        if bad:
            raise ConfigError(f"the neighbours view's stored training rows are not valid: {bad}.",
                              remedy="use the model as training wrote it, or train it again.")
        view._check_fitted()
        return view


def label_prior(labels: np.ndarray) -> np.ndarray:
    """Per label the fraction of known training values that are 1 (0.5 for a label with none known)."""
    known = np.isfinite(labels)
    n = known.sum(0)
    return np.where(n > 0, np.nansum(labels, 0) / np.maximum(n, 1), 0.5).astype(np.float32)


def _read_precursors(path: str) -> list[str]:
    """The sequences of a FASTA file of precursors, any letter but A, C, G, U read as N."""
    from rnalabel.io.fasta import iter_fasta

    return [re.sub("[^ACGU]", "N", r.sequence) for r in iter_fasta(path)]


def _bad_reference(view: Neighbours) -> str:
    """What is wrong with a fitted view's stored training rows ("" when nothing)."""
    tok, lengths, labels = view.reference_tokens, view.reference_lengths, view.reference_labels
    ids, names = view.reference_ids, view.label_names
    if not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        return "the ids are not a list of strings"
    if not (isinstance(names, list) and names and all(isinstance(i, str) for i in names)):
        return "the label names are not a list of strings"
    for what, a, dims in (("sequences", tok, 2), ("lengths", lengths, 1), ("labels", labels, 2)):
        if not isinstance(a, np.ndarray) or a.ndim != dims:
            return f"the {what} are not a {dims}-dimensional array"
    n = tok.shape[0]
    if lengths.shape != (n,) or labels.shape != (n, len(names)) or len(ids) != n:
        return (f"the parts do not match ({n} sequences, lengths {lengths.shape}, labels {labels.shape}, "
                f"{len(ids)} ids, {len(names)} label names)")
    if n > view.max_reference:
        return f"{n:,} rows, more than the view's max_reference ({view.max_reference:,})"
    if tok.dtype != np.uint8 or (tok.size and int(tok.max()) > 4):
        return "the sequences hold tokens other than A, C, G, U, N"
    if not np.issubdtype(lengths.dtype, np.integer) or (n and (lengths.min() < 0 or lengths.max() > tok.shape[1])):
        return f"lengths outside 0-{tok.shape[1]}"
    if not np.all(np.isnan(labels) | (labels == 0) | (labels == 1)):
        return "labels other than 0, 1 and unknown"
    pre = view.precursor_sequences
    if not (isinstance(pre, list) and all(isinstance(p, str) and re.fullmatch("[ACGUN]*", p) for p in pre)):
        return "the precursors are not a list of A, C, G, U, N sequences"
    return ""
