"""A similarity index over binding sites, and ranking the proteins whose sites a query RNA resembles (DeepMiRBP's
first component; see :mod:`rnalabel.models.deepmirbp`).

:func:`build_index` embeds **every** bound site of a site dataset (one label per experiment, as
:func:`rnalabel.io.binding_sites.build_binding_sites` gives) with an ``embedding`` bundle, L2-normalises the
vectors and stores them, grouped by experiment, in an exact inner-product faiss index (``IndexFlatIP``: inner
product of unit vectors = cosine) inside the bundle's artifacts, with the site ids and the experiments' proteins.
A site bound in two experiments is in both groups.

Scoring a query (:func:`site_scores`): its cosine to every site of experiment j, and the mean of the ``k``
largest (top-k mean, default k = 10). Why not the nearest site alone: the maximum of more draws is larger, so an
experiment with 30,000 sites would beat one with 500 by count; a top-k mean is steadier, but still drifts with
count. So each experiment's score is then **calibrated** against composition-matched controls: the same score for
dinucleotide shuffles of query-like sequences (the ``null`` set given at build time), and the query's score is
the z-score ``(s_j - mean_j) / sd_j`` of those controls. An experiment wins by being closer to the query than to
its shuffles, not by having many sites. :func:`rank` ranks proteins by the best z of their experiments.

Seed-match evidence (reported beside the rank, never used for it): the index also stores, per experiment, the share
of its bound sites that hold each 7-mer (``index.seed_matches``, 4**7 x K). For a miRNA-like query, ``seed_share``
is the share of the experiment's sites that hold its 7mer-m8 seed match (the reverse complement of nucleotides
2-8, what an AGO-loaded miRNA pairs with), and ``seed_z`` that share against the same share for 30 dinucleotide
shuffles of the query: the canonical targeting rule as a check on what the embedding says. On the AGO sites we hold
it is a weak signal (benchmarks/results/deepmirbp_reference.md: a miRNA's seed match is enriched in some AGO
experiment for a third of 399 AGO-bound miRNAs).
"""

from __future__ import annotations

import os
import shutil
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnalabel.data import Dataset, atomic_path, write_text_atomic
from rnalabel.data.files import open_output
from rnalabel.data.sequence import decode
from rnalabel.data.shuffle import shuffle_tokens
from rnalabel.engine.bundle import Artifact, Bundle
from rnalabel.engine.forward import unit_outputs
from rnalabel.errors import ConfigError, InputError, ModelFileError, a_or_an

#: artifact names of the index inside a bundle
INDEX = "index.faiss"
INDEX_META = "index.meta"
INDEX_SITES = "index.site_ids"
INDEX_OFFSETS = "index.offsets"
INDEX_NULL = "index.null"
INDEX_CENTER = "index.center"
INDEX_SEEDS = "index.seed_matches"

#: length of the seed match counted in the sites (7mer-m8: pairs with miRNA nucleotides 2-8)
SEED_K = 7
#: dinucleotide shuffles of a query behind its seed_z
SEED_SHUFFLES = 30
#: fewest distinct shuffled controls an index is calibrated on
MIN_NULL_DISTINCT = 10


def _faiss():
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss-cpu is in the embed extra, installed by the Makefile
        raise ConfigError("the similarity index needs faiss.", remedy="pip install 'rnalabel[embed]'.") from exc
    return faiss


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.ascontiguousarray(v, dtype=np.float32)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norm, 1e-12)


@dataclass
class SiteIndex:
    """The index part of a bundle, ready to search.

    Attributes
    ----------
    vectors : numpy.ndarray, shape=(M, D), float32
        Unit vectors of the sites, grouped by experiment (rows ``offsets[j]:offsets[j+1]``).
    offsets : numpy.ndarray, shape=(K + 1,)
    experiments : list of str
    proteins : dict of str to list of str
        Experiment -> gene symbols of the protein(s) it assayed.
    site_ids : list of str, length M
    k : int
        Sites averaged per experiment (top-k mean).
    null_mean, null_sd : numpy.ndarray, shape=(K,)
        Per-experiment score of dinucleotide-shuffled controls (mean, standard deviation).
    center : numpy.ndarray, shape=(D,), or None
        Subtracted from every vector (sites and queries) before normalising: the mean site embedding, so that
        cosines measure how vectors differ, not the direction all of them share. None: plain cosine.
    meta : dict
        Everything else recorded at build time (counts, the null set, timings).
    """

    vectors: np.ndarray
    offsets: np.ndarray
    experiments: list[str]
    proteins: dict[str, list[str]]
    site_ids: list[str]
    k: int
    null_mean: np.ndarray
    null_sd: np.ndarray
    center: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    seed_table: np.ndarray | None = None

    def seed_evidence(self, queries: Dataset) -> tuple[np.ndarray, np.ndarray]:
        """(seed_share (Q, K), seed_z (Q, K)) of the queries' 7mer-m8 seed matches in each experiment's sites (module
        docstring); NaN where the index has no seed table (built before it existed) or a query has no seed (shorter
        than 8 nt, or N in nucleotides 2-8).

        Each query's shuffles are drawn from a generator seeded by its own sequence, so a query's seed_z is the same
        whatever else is asked with it. The controls' spread is floored at one site of the experiment
        (``1 / n_sites``): a share cannot be resolved more finely, and shuffles that all miss would otherwise divide
        by nothing."""
        q, k = len(queries), len(self.experiments)
        share = np.full((q, k), np.nan)
        z = np.full((q, k), np.nan)
        if self.seed_table is None or q == 0:
            return share, z
        floor = 1.0 / np.maximum(self.sizes, 1)
        for i in range(q):
            m = int(queries.lengths[i])
            code = seed_code(queries.tokens[i], m)
            if code is None:
                continue
            share[i] = self.seed_table[code]
            row = np.asarray(queries.tokens[i:i + 1, :m])
            shuf = shuffle_tokens(row, np.array([m]), n=SEED_SHUFFLES, seed=zlib.crc32(row.tobytes()))[:, 0]
            ctrl = [c for c in (seed_code(s, m) for s in shuf) if c is not None]
            if not ctrl:
                continue
            c = self.seed_table[ctrl]
            z[i] = (share[i] - c.mean(axis=0)) / np.maximum(c.std(axis=0), floor)
        return share, z

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def search(self, queries: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact per-experiment top-k: (cosines (Q, K, k), site rows (Q, K, k)); -inf / -1 where an experiment has
        fewer than k sites."""
        faiss = _faiss()
        k = self.k if k is None else k
        q = self.unit(queries)
        sims = np.full((len(q), len(self.experiments), k), -np.inf, dtype=np.float32)
        rows = np.full((len(q), len(self.experiments), k), -1, dtype=np.int64)
        for j in range(len(self.experiments)):
            a, b = int(self.offsets[j]), int(self.offsets[j + 1])
            kk = min(k, b - a)
            if kk == 0:
                continue
            d, i = faiss.knn(q, self.vectors[a:b], kk, metric=faiss.METRIC_INNER_PRODUCT)
            sims[:, j, :kk] = d
            rows[:, j, :kk] = i + a
        return sims, rows

    def unit(self, vectors: np.ndarray) -> np.ndarray:
        """Raw embeddings as the index compares them: centred (when it centres), unit length."""
        v = np.asarray(vectors, dtype=np.float32)
        return _normalise(v - self.center[None, :] if self.center is not None else v)

    def raw_scores(self, queries: np.ndarray) -> np.ndarray:
        """Top-k mean cosine per query and experiment, shape (Q, K)."""
        return _topk_mean(self.search(queries)[0])

    def calibrate(self, null_vectors: np.ndarray) -> SiteIndex:
        """Set the per-experiment mean and sd of the scores of control queries (raw embeddings)."""
        raw = self.raw_scores(null_vectors)
        self.null_mean = raw.mean(axis=0)
        self.null_sd = np.maximum(raw.std(axis=0, ddof=1), 1e-6)
        return self

    def z_scores(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(z (Q, K), top-k mean (Q, K), nearest cosines (Q, K, k), nearest rows (Q, K, k)) of raw query
        embeddings; experiments without sites get z = -inf."""
        sims, rows = self.search(queries)
        raw = _topk_mean(sims)
        z = (raw - self.null_mean[None, :]) / self.null_sd[None, :]
        z[:, self.sizes == 0] = -np.inf
        return z, raw, sims, rows

    @classmethod
    def from_vectors(cls, vectors: np.ndarray, bound: np.ndarray, experiments: list[str], *,
                     proteins: dict[str, list[str]] | None = None, site_ids: list[str] | None = None, k: int = 10,
                     center: bool = True) -> SiteIndex:
        """An (uncalibrated) index of raw site embeddings ``vectors`` (N, D); ``bound`` (N, K) says which
        experiments each site belongs to (a site in two experiments goes in twice)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        c = vectors.mean(axis=0) if center else None
        rows, offsets = [], [0]
        for j in range(bound.shape[1]):
            r = np.flatnonzero(bound[:, j])
            rows.append(r)
            offsets.append(offsets[-1] + len(r))
        order = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        si = cls(vectors=np.empty((0, vectors.shape[1]), dtype=np.float32), offsets=np.asarray(offsets),
                 experiments=list(experiments), proteins=proteins or {e: [e] for e in experiments},
                 site_ids=[str(i) for i in order] if site_ids is None else [site_ids[i] for i in order], k=k,
                 null_mean=np.zeros(len(experiments)), null_sd=np.ones(len(experiments)), center=c)
        si.vectors = np.ascontiguousarray(si.unit(vectors[order]))
        si.meta["order"] = order
        return si


def seed_code(tokens: np.ndarray, length: int) -> int | None:
    """Index (base 4, A C G U = 0..3) of the 7mer-m8 seed match of a miRNA's tokens: the reverse complement of
    nucleotides 2-8. None if the RNA is shorter than 8 nt or has N there."""
    if length < SEED_K + 1:
        return None
    seed = np.asarray(tokens[1:SEED_K + 1], dtype=np.int64)
    if np.any((seed < 0) | (seed > 3)):
        return None
    code = 0
    for t in (3 - seed)[::-1]:  # complement is 3 - token (A<->U, C<->G); reversed
        code = code * 4 + int(t)
    return code


def kmer_presence(tokens: np.ndarray, bound: np.ndarray, k: int = SEED_K, chunk: int = 100_000) -> np.ndarray:
    """(4**k, K) float32: share of each experiment's bound sites holding each k-mer at least once (k-mers with N or
    padding skipped), counted ``chunk`` sites at a time.

    Parameters
    ----------
    tokens : numpy.ndarray, shape=(N, L)
        Nucleotide tokens (A C G U = 0..3, anything else skipped).
    bound : numpy.ndarray, shape=(N, K)
        True where site i is bound in experiment j.
    """
    import scipy.sparse as sp

    n, w = tokens.shape
    bound = np.asarray(bound, dtype=np.float32)
    counts = np.zeros((4 ** k, bound.shape[1]), dtype=np.float64)
    if w >= k:
        for a in range(0, n, chunk):
            tok = tokens[a:a + chunk].astype(np.int64)
            ok = (tok >= 0) & (tok < 4)
            code = np.zeros((len(tok), w - k + 1), np.int64)
            good = np.ones((len(tok), w - k + 1), bool)
            for i in range(k):
                part = slice(i, w - k + 1 + i)
                code = code * 4 + np.where(ok[:, part], tok[:, part], 0)
                good &= ok[:, part]
            rows = np.repeat(np.arange(len(tok)), w - k + 1)[good.ravel()]
            x = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, code.ravel()[good.ravel()])),
                              shape=(len(tok), 4 ** k))
            x.sum_duplicates()
            x.data[:] = 1.0
            counts += np.asarray((x.T @ sp.csr_matrix(bound[a:a + chunk])).todense())
    return (counts / np.maximum(bound.sum(axis=0), 1)[None, :]).astype(np.float32)


def _topk_mean(sims: np.ndarray) -> np.ndarray:
    finite = np.isfinite(sims)
    return np.where(finite, sims, 0).sum(axis=2) / np.maximum(finite.sum(axis=2), 1)


def _embed(bundle: Bundle, ds: Dataset, *, batch_size: int, progress: bool) -> np.ndarray:
    if bundle.kind_info.output != "vectors":
        raise ConfigError(f"the model is {a_or_an(bundle.kind)} model; a similarity index needs an embedding model.",
                          remedy="train with a recipe of kind embedding (e.g. --recipe deepmirbp).")
    _, vectors = unit_outputs(bundle, ds, output="embedding", batch_size=batch_size, progress=progress)
    return vectors


def _embed_resumable(bundle: Bundle, ds: Dataset, checkpoint: str | os.PathLike, *, chunk: int, batch_size: int,
                     progress: bool) -> np.ndarray:
    """:func:`_embed` a ``chunk`` of rows at a time, each chunk's vectors saved atomically in ``checkpoint`` (with
    a fingerprint of the model's weights and the rows): run again after a kill, it embeds only the chunks that
    are missing. Plain .npy files, read with ``allow_pickle=False``."""
    import hashlib
    import json

    folder = Path(checkpoint)
    h = hashlib.sha256()
    for _, t in sorted(bundle.module.state_dict().items()):
        h.update(t.detach().cpu().float().numpy().tobytes())
    for a in (ds.tokens, ds.lengths):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(f"{chunk}".encode())
    fingerprint = h.hexdigest()
    meta_path = folder / "embedding.json"
    try:
        same = json.loads(meta_path.read_text()).get("fingerprint") == fingerprint
    except (OSError, ValueError):
        same = False
    if not same:
        shutil.rmtree(folder, ignore_errors=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not same:
            write_text_atomic(meta_path, json.dumps({"fingerprint": fingerprint, "rows": len(ds), "chunk": chunk}))
    except OSError as exc:
        raise InputError(f"cannot write the embedding checkpoint ({exc.strerror or exc}).", path=folder,
                         remedy="choose a writable place for --out.") from None
    parts = []
    for i, a in enumerate(range(0, len(ds), chunk)):
        part = folder / f"part{i:06d}.npy"
        n = min(chunk, len(ds) - a)
        vec = None
        if part.exists():
            try:
                vec = np.load(part, allow_pickle=False)
            except (OSError, ValueError):
                vec = None
            if vec is not None and (vec.ndim != 2 or len(vec) != n):
                vec = None
        if vec is None:
            vec = _embed(bundle, ds.subset(slice(a, a + n)), batch_size=batch_size, progress=progress)
            tmp = folder / f".part{i:06d}.tmp.npy"
            np.save(tmp, vec)
            os.replace(tmp, part)
        parts.append(vec)
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def null_controls(queries: Dataset, n: int, *, seed: int = 0) -> Dataset:
    """``n`` dinucleotide shuffles of every query (composition-matched controls), as a Dataset."""
    shuf = shuffle_tokens(queries.tokens, queries.lengths, n=n, seed=seed)
    ids, seqs = [], []
    for r in range(n):
        for i, m in enumerate(queries.lengths):
            ids.append(f"{queries.ids[i]}:shuffle{r}")
            seqs.append(decode(shuf[r, i], int(m)))
    return Dataset.from_sequences(ids, seqs, provenance={"source": "dinucleotide shuffles", "n": n, "seed": seed})


def build_index(
    bundle: Bundle,
    sites: Dataset,
    null: Dataset,
    *,
    k: int = 10,
    n_null: int = 10,
    center: bool = True,
    label_info: dict[str, dict[str, Any]] | None = None,
    batch_size: int = 512,
    progress: bool = True,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    chunk: int = 100_000,
) -> Bundle:
    """Add a similarity index over the bound sites of ``sites`` to an embedding bundle (module docstring).

    Parameters
    ----------
    bundle : Bundle
        Of kind ``embedding``; changed in place (artifacts added) and returned.
    sites : Dataset
        One label per experiment; every row with a 1 goes into that experiment's group (0 and NaN are ignored).
    null : Dataset
        Query-like sequences (e.g. miRNAs) whose dinucleotide shuffles calibrate the scores.
    k : int
        Sites averaged per experiment. Default is 10.
    n_null : int
        Shuffles per null sequence. Default is 10.
    center : bool
        Subtract the mean site embedding before the cosine (see :class:`SiteIndex`). Default is True.
    label_info : dict, optional
        Experiment -> {"proteins": [...]}. Default is ``sites.provenance["label_info"]``, else each experiment
        names its own protein.
    batch_size : int
    progress : bool
    seed : int
    checkpoint : path, optional
        A folder where the site embeddings are kept ``chunk`` rows at a time as they are computed: building the
        index again after a kill embeds only what is missing (with the same model and sites; anything else starts
        afresh). Default is None (nothing kept).
    chunk : int
        Rows per saved part. Default is 100,000.

    Returns
    -------
    Bundle
    """
    import time

    faiss = _faiss()
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(f"k must be a whole number of at least 1, got {k!r}.")
    if isinstance(n_null, bool) or not isinstance(n_null, int) or n_null < 2:
        raise InputError(f"the shuffles per null sequence (n_null, CLI --shuffles) must be a whole number of at "
                         f"least 2, got {n_null!r}.", remedy="give --shuffles 2 or more (default 10).")
    if len(null) == 0:
        raise InputError("the null set is empty.", remedy="give query-like sequences (e.g. miRNAs) to shuffle.")
    pos = sites.labels == 1
    used = np.flatnonzero(pos.any(axis=1))
    if len(used) == 0:
        raise InputError("the site dataset has no bound site (no label is 1).", remedy="give binding sites.")
    controls = null_controls(null, n_null, seed=seed)
    distinct = len(set(controls.sequences))
    if distinct < MIN_NULL_DISTINCT:
        raise InputError(f"the null set's shuffles hold only {distinct} distinct sequence(s) (of "
                         f"{len(controls)}): too few to calibrate the scores (z-scores would have no spread).",
                         remedy="give more, or longer, query-like sequences (e.g. miRNAs) as --null.")
    t1 = time.perf_counter()  # the controls first: a null the model refuses fails before any site is embedded
    null_vectors = _embed(bundle, controls, batch_size=batch_size, progress=False)
    null_s = time.perf_counter() - t1
    t0 = time.perf_counter()
    if checkpoint is not None:
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise InputError(f"chunk must be a whole number of rows, got {chunk!r}.")
        raw_vectors = _embed_resumable(bundle, sites.subset(used), checkpoint, chunk=chunk, batch_size=batch_size,
                                       progress=progress)
    else:
        raw_vectors = _embed(bundle, sites.subset(used), batch_size=batch_size, progress=progress)
    embed_s = time.perf_counter() - t0
    info = label_info if label_info is not None else sites.provenance.get("label_info") or {}
    experiments = list(sites.label_names)
    proteins = {e: list((info.get(e) or {}).get("proteins") or [e]) for e in experiments}
    si = SiteIndex.from_vectors(raw_vectors, pos[used], experiments, proteins=proteins,
                                site_ids=[str(i) for i in sites.ids[used]], k=k, center=center)
    si.calibrate(null_vectors)
    index = faiss.IndexFlatIP(si.vectors.shape[1])
    index.add(si.vectors)
    site_ids = si.site_ids
    offsets = si.offsets
    order = si.meta["order"]
    meta = {
        "experiments": experiments, "proteins": proteins, "k": k, "aggregate": "top-k mean, z against shuffles",
        "n_sites": int(len(order)), "n_sequences": int(len(used)), "dim": int(si.vectors.shape[1]),
        "centered": center,
        "sizes": {e: int(n) for e, n in zip(experiments, np.diff(offsets), strict=True)},
        "null": {"n_sequences": len(null), "shuffles_each": n_null, "seed": seed, "distinct_controls": distinct,
                 "lengths": [int(null.lengths.min()), int(np.median(null.lengths)), int(null.lengths.max())],
                 "source": str(null.provenance.get("source", ""))},
        "sites_source": {k2: v for k2, v in sites.provenance.items() if k2 != "label_info"},
        "seconds": {"embed_sites": round(embed_s, 2), "null": round(null_s, 2)},
    }
    bundle.artifacts[INDEX] = Artifact(bytes(faiss.serialize_index(index)), "faiss",
                                       "exact inner-product index of the unit-length site embeddings")
    bundle.artifacts[INDEX_OFFSETS] = Artifact(si.offsets, "npy", "first row of each experiment's sites")
    bundle.artifacts[INDEX_SITES] = Artifact(site_ids, "json", "site id of each index row")
    bundle.artifacts[INDEX_NULL] = Artifact(np.stack([si.null_mean, si.null_sd]).astype(np.float64), "npy",
                                            "per-experiment mean and sd of the shuffled controls' scores")
    bundle.artifacts[INDEX_META] = Artifact(meta, "json", "experiments, proteins and how the index was built")
    bundle.artifacts[INDEX_SEEDS] = Artifact(kmer_presence(sites.tokens[used], pos[used]), "npy",
                                             f"share of each experiment's bound sites holding each {SEED_K}-mer "
                                             "(seed-match evidence)")
    if si.center is not None:
        bundle.artifacts[INDEX_CENTER] = Artifact(si.center.astype(np.float32), "npy",
                                                  "mean site embedding, subtracted before the cosine")
    else:
        bundle.artifacts.pop(INDEX_CENTER, None)
    return bundle


def load_index(bundle: Bundle) -> SiteIndex:
    """The :class:`SiteIndex` stored in a bundle's artifacts; a bundle without one raises ``ModelFileError``."""
    faiss = _faiss()
    need = (INDEX, INDEX_META, INDEX_SITES, INDEX_OFFSETS, INDEX_NULL)
    missing = [n for n in need if n not in bundle.artifacts]
    if missing and bundle.kind != "embedding":
        raise ModelFileError(f"ranking proteins needs an embedding model with a similarity index (DeepMiRBP); this is "
                             f"{a_or_an(bundle.kind)} model that scores labels.",
                             remedy="use `rnalabel predict` with this model, or rank with a DeepMiRBP model folder.")
    if missing:
        raise ModelFileError("the model holds no similarity index.",
                             remedy="build one with `rnalabel index MODEL SITES --null MIRNAS --out DIR`.")
    meta = bundle.artifacts[INDEX_META].value
    try:
        index = faiss.deserialize_index(np.frombuffer(bundle.artifacts[INDEX].value, dtype=np.uint8))
        n, d = index.ntotal, index.d
        vectors = faiss.rev_swig_ptr(faiss.downcast_index(index).get_xb(), n * d).reshape(n, d).copy()
        offsets = np.asarray(bundle.artifacts[INDEX_OFFSETS].value, dtype=np.int64)
        null = np.asarray(bundle.artifacts[INDEX_NULL].value, dtype=np.float64)
        site_ids = list(bundle.artifacts[INDEX_SITES].value)
        experiments = list(meta["experiments"])
        center = (np.asarray(bundle.artifacts[INDEX_CENTER].value, dtype=np.float32)
                  if INDEX_CENTER in bundle.artifacts else None)
        seeds = (np.asarray(bundle.artifacts[INDEX_SEEDS].value, dtype=np.float32)
                 if INDEX_SEEDS in bundle.artifacts else None)
        ok = (seeds is None or seeds.shape == (4 ** SEED_K, len(experiments))) and (
              center is None or center.shape == (d,)) and (len(offsets) == len(experiments) + 1 and offsets[0] == 0 and offsets[-1] == n
              and np.all(np.diff(offsets) >= 0) and null.shape == (2, len(experiments)) and len(site_ids) == n)
    except (RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"the similarity index is damaged ({exc}).", remedy="rebuild it.") from None
    if not ok:
        raise ModelFileError("the similarity index's parts disagree (sizes, experiments, controls).",
                         remedy="rebuild it with `rnalabel index`.")
    return SiteIndex(vectors=vectors, offsets=offsets, experiments=experiments,
                     proteins={e: list(v) for e, v in meta["proteins"].items()}, site_ids=site_ids,
                     k=int(meta["k"]), null_mean=null[0], null_sd=null[1], center=center, meta=meta,
                     seed_table=seeds)


@dataclass
class Ranking:
    """Proteins ranked per query.

    Attributes
    ----------
    ids : list of str
    rows : list of dict
        One per (query, rank): ``id``, ``rank``, ``protein``, ``score`` (z against shuffles), ``cosine`` (top-k
        mean), ``experiment`` (the best of the protein's experiments), ``sites`` (nearest site ids with cosine),
        ``seed_share`` and ``seed_z`` (seed-match evidence in that experiment's sites; NaN where unknown).
    experiment_z : numpy.ndarray, shape=(Q, K)
    experiments : list of str
    """

    ids: list[str]
    rows: list[dict[str, Any]]
    experiment_z: np.ndarray
    experiments: list[str]

    def to_tsv(self, path: str | os.PathLike) -> Path:
        """Write a TSV atomically: id, rank, protein, score, cosine, experiment, seed_share, seed_z, nearest_sites
        (unknown values are empty)."""
        def num(x: float) -> str:
            return "" if x != x else f"{x:.4g}"

        lines = ["\t".join(["id", "rank", "protein", "score", "cosine", "experiment", "seed_share", "seed_z",
                            "nearest_sites"])]
        for r in self.rows:
            sites = ",".join(f"{s}:{c:.3f}" for s, c in r["sites"])
            lines.append("\t".join([r["id"], str(r["rank"]), r["protein"], f"{r['score']:.4g}", num(r["cosine"]),
                                    r["experiment"], num(r["seed_share"]), num(r["seed_z"]),
                                    sites or "-"]))
        path = Path(path)
        with atomic_path(path) as tmp, open_output(tmp, path) as f:
            f.write("\n".join(lines) + "\n")
        return path


def site_scores(bundle: Bundle, queries: Dataset, *, index: SiteIndex | None = None, batch_size: int = 512,
                progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, SiteIndex]:
    """(z (Q, K), top-k mean cosine (Q, K), nearest cosines (Q, K, k), nearest rows (Q, K, k), index)."""
    index = load_index(bundle) if index is None else index
    z, raw, sims, rows = index.z_scores(_embed(bundle, queries, batch_size=batch_size, progress=progress))
    return z, raw, sims, rows, index


def rank(
    bundle: Bundle,
    queries: Dataset,
    *,
    top: int | None = 10,
    n_sites: int = 3,
    batch_size: int = 512,
    index: SiteIndex | None = None,
) -> Ranking:
    """Rank the index's proteins for every query RNA (module docstring).

    Parameters
    ----------
    bundle : Bundle
        An embedding bundle holding an index (:func:`build_index`).
    queries : Dataset
    top : int or None
        Proteins kept per query; None for all. Default is 10.
    n_sites : int
        Nearest sites reported per protein. Default is 3.
    batch_size : int
    index : SiteIndex, optional
        Already loaded (to rank many batches without reloading).

    Returns
    -------
    Ranking
    """
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise InputError(f"top must be a whole number of at least 1, got {top!r}.")
    if isinstance(n_sites, bool) or not isinstance(n_sites, int) or n_sites < 0:
        raise InputError(f"n_sites must be a whole number of at least 0, got {n_sites!r}.")
    z, raw, sims, rows, index = site_scores(bundle, queries, index=index, batch_size=batch_size)
    seed_share, seed_z = index.seed_evidence(queries)
    proteins = sorted({p for ps in index.proteins.values() for p in ps})
    members = {p: [j for j, e in enumerate(index.experiments) if p in index.proteins[e]] for p in proteins}
    out = []
    for q, qid in enumerate(map(str, queries.ids)):
        best = []
        for p in proteins:
            js = members[p]
            j = js[int(np.argmax(z[q, js]))]
            best.append((float(z[q, j]), p, j))
        best.sort(key=lambda t: (-t[0], t[1]))
        for r, (score, p, j) in enumerate(best[: top or len(best)], start=1):
            near = [(index.site_ids[int(s)], float(c)) for s, c in zip(rows[q, j, :n_sites], sims[q, j, :n_sites],
                                                                    strict=True) if s >= 0]
            out.append({"id": qid, "rank": r, "protein": p, "score": score, "cosine": float(raw[q, j]),
                        "experiment": index.experiments[j], "sites": near,
                        "seed_share": float(seed_share[q, j]), "seed_z": float(seed_z[q, j])})
    return Ranking(ids=[str(i) for i in queries.ids], rows=out, experiment_z=z, experiments=index.experiments)
