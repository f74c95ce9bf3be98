"""RNA-protein binding sites pooled from every CLIP source we hold, with the protein(s) behind each experiment:
DeepMiRBP's source domain (see :mod:`rnalabel.models.deepmirbp`).

Sources (folders of ``../shared/data``):

* ``eclip``: 91 ENCODE eCLIP experiments (``PUM2_K562`` ...), 101-nt sites, 1 bound / 0 unbound;
* ``rbp31``: the 31 RBP-31 (iONMF) experiments with their published train/test parts;
* ``deepmirbp``: the DeepMiRBP ``RBP-Data/*.both.fa`` files (AGO1, AGO2, NIP7, SBDS, SERBP1, SLBP, WDR3).

:func:`build_binding_sites` pools them into one multi-task :class:`~rnalabel.data.Dataset`: one label per
experiment, a row per distinct sequence carrying the label of every experiment that lists it (1 wins over 0 when
an experiment lists it both ways) and NaN for the others. Its ``provenance["label_info"]`` maps each experiment to
its proteins (:func:`experiment_proteins`: ``PUM2_K562`` -> PUM2, ``1_PARCLIP_AGO1234`` -> AGO1-AGO4,
``15_PARCLIP_IGF2BP123`` -> IGF2BP1-IGF2BP3), which training copies into the model card.

Split: a sequence in a published RBP-31 test part is ``test``, one in a published training part ``train``; every
other sequence (eCLIP, DeepMiRBP) is ``test`` with probability ``test_fraction`` (the paper's 90/10), drawn from a
hash of the sequence, so that a sequence is on one side only, whichever experiments list it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnalabel.data import Dataset
from rnalabel.errors import InputError
from rnalabel.io._common import file_stem
from rnalabel.io.importers import RBP31_FILE, RBP31_PARTS, rbp31_short_name, read_rbp31_fasta, read_seq_labels

SOURCES = ("eclip", "rbp31", "deepmirbp")

#: protein(s) behind the irregular RBP-31 names, by the name's protein part (after the number and the protocol)
RBP31_PROTEINS: dict[str, list[str]] = {
    "AGO1234": ["AGO1", "AGO2", "AGO3", "AGO4"], "AGO2MNASE": ["AGO2"], "Ago2": ["AGO2"], "AGO2": ["AGO2"],
    "eIF4AIII": ["EIF4A3"], "ELAVL1": ["ELAVL1"], "ELAVL1MNASE": ["ELAVL1"], "ELAVL1A": ["ELAVL1"],
    "EWSR1": ["EWSR1"], "FUS": ["FUS"], "IGF2BP123": ["IGF2BP1", "IGF2BP2", "IGF2BP3"], "hnRNPC": ["HNRNPC"],
    "HNRNPC": ["HNRNPC"], "hnRNPL": ["HNRNPL"], "hnRNPlike": ["HNRNPLL"], "MOV10": ["MOV10"], "NSUN2": ["NSUN2"],
    "PUM2": ["PUM2"], "QKI": ["QKI"], "SFRS1": ["SRSF1"], "TAF15": ["TAF15"], "TDP43": ["TARDBP"], "TIA1": ["TIA1"],
    "TIAL1": ["TIAL1"], "U2AF65": ["U2AF2"],
}
_CELL_LINES = ("K562", "HepG2", "HEK293", "HeLa", "Hela")


def experiment_proteins(name: str) -> list[str]:
    """Gene symbols of the protein(s) an experiment assayed, from its name.

    ``PUM2_K562`` -> ["PUM2"]; ``AGO1`` -> ["AGO1"]; RBP-31 names through :data:`RBP31_PROTEINS`
    (``1_PARCLIP_AGO1234`` -> AGO1-AGO4, ``6_CLIP-seq-eIF4AIII_1`` -> EIF4A3, ``25_CLIPSEQ_SFRS1`` -> SRSF1).
    Anything else: the name without a cell-line suffix, upper-cased.
    """
    m = re.match(r"^\d+_(?:[A-Za-z]+CLIP|CLIPSEQ|CLIP-seq)[_-]([^_]+)", name)
    if m:
        token = m.group(1)
        if token in RBP31_PROTEINS:
            return list(RBP31_PROTEINS[token])
        return [token.upper()]
    parts = name.split("_")
    if len(parts) >= 2 and parts[-1] in _CELL_LINES:
        return ["_".join(parts[:-1]).upper()]
    return [name.upper()]


def _source_dir(shared: Path, source: str) -> Path:
    d = {"eclip": shared / "eclip" / "eCLIP_Data", "rbp31": shared / "rbp31" / "datasets" / "clip",
         "deepmirbp": shared / "deepmirbp" / "Data" / "RBP-Data"}[source]
    if not d.is_dir():
        raise InputError(f"the {source} folder is missing.", path=d,
                         remedy="give the data folder that holds eclip/, rbp31/ and deepmirbp/ (../shared/data).")
    return d


def _records(shared: Path, sources: Sequence[str], experiments: Sequence[str] | None):
    """Yield (experiment, source, ids, sequences, labels, part) per experiment file; part is "train"/"test"/None;
    ids are ``<experiment>:<line>`` (eCLIP, DeepMiRBP) or ``<experiment>:<part>:<index>:<coordinates>`` (RBP-31)."""
    for source in sources:
        d = _source_dir(shared, source)
        if source == "rbp31":
            for folder in sorted((p.name for p in d.iterdir() if p.is_dir()), key=lambda s: int(s.split("_")[0])):
                name = rbp31_short_name(folder)
                if experiments is not None and name not in experiments:
                    continue
                for part in ("train", "test"):
                    sl = read_rbp31_fasta(d / folder / "30000" / RBP31_PARTS[part] / RBP31_FILE,
                                          prefix=f"{name}:{part}:")
                    yield name, source, sl.ids, sl.sequences, sl.labels, part
        else:
            pattern = "*.both.fa*" if source == "deepmirbp" else "*_*"
            for p in sorted(d.glob(pattern)):
                if p.name.startswith("."):
                    continue
                name = file_stem(p)
                if experiments is not None and name not in experiments:
                    continue
                sl = read_seq_labels(p, prefix=f"{name}:")
                yield name, source, sl.ids, sl.sequences, sl.labels, None


def _hash_fraction(seqs: np.ndarray, seed: int) -> np.ndarray:
    """A number in [0, 1) per sequence, fixed by the sequence and the seed."""
    out = np.empty(len(seqs), dtype=np.float64)
    salt = str(seed).encode()
    for i, s in enumerate(seqs):
        out[i] = int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8, key=salt).digest(), "big") / 2.0 ** 64
    return out


def build_binding_sites(
    shared: str | os.PathLike,
    *,
    sources: Sequence[str] = SOURCES,
    experiments: Sequence[str] | None = None,
    max_per_class: int | None = None,
    positives_only: bool = False,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> Dataset:
    """Pool binding sites of every experiment of ``sources`` into one multi-task dataset (module docstring).

    Parameters
    ----------
    shared : path
        The data folder holding ``eclip/``, ``rbp31/`` and ``deepmirbp/`` (``../shared/data``).
    sources : sequence of str
        Some of :data:`SOURCES`. Default is all.
    experiments : sequence of str, optional
        Only these experiments (label names). Default is all.
    max_per_class : int, optional
        Keep at most this many bound and this many unbound sites per experiment (drawn with ``seed``; a cost cap
        for training). Default is None (all).
    positives_only : bool
        Keep only bound sites (what the similarity index holds). Default is False.
    test_fraction : float
        Share of the sequences outside RBP-31 put in ``test``. Default is 0.1.
    seed : int
        Default is 0.

    Returns
    -------
    Dataset
        Labels (N, K), one per experiment, NaN where an experiment does not list the sequence; ids of each
        sequence's first record (``PUM2_K562:<line>``, ``23_PARCLIP_PUM2:test:<index>:<coordinates>``); ``split``;
        provenance with ``label_info`` ({experiment: {"proteins": [...], "source": ...}}) and counts.
    """
    import pandas as pd

    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        raise InputError(f"unknown source(s) {', '.join(map(repr, unknown)) or '(none given)'}.",
                         remedy=f"choose some of: {', '.join(SOURCES)}.")
    if max_per_class is not None and (isinstance(max_per_class, bool) or max_per_class < 1):
        raise InputError(f"max_per_class must be at least 1, got {max_per_class!r}.")
    if not 0 <= test_fraction < 1:
        raise InputError(f"test_fraction must be in [0, 1), got {test_fraction!r}.")
    shared = Path(shared)
    rng = np.random.default_rng(seed)
    names: list[str] = []
    info: dict[str, dict] = {}
    seq_parts, exp_parts, lab_parts, part_parts, id_parts = [], [], [], [], []
    n_records = 0
    for name, source, rec_ids, seqs, labels, part in _records(shared, sources, experiments):
        if name not in info:
            if name in names:
                raise InputError(f"two sources hold an experiment called {name!r}.")
            names.append(name)
            info[name] = {"proteins": experiment_proteins(name), "source": source}
        j = names.index(name)
        labels = np.asarray(labels, dtype=np.int8)
        keep = np.flatnonzero(labels == 1) if positives_only else np.arange(len(labels))
        if max_per_class is not None:
            picks = []
            for cls in (1, 0):
                idx = keep[labels[keep] == cls]
                if len(idx) > max_per_class:
                    idx = np.sort(rng.choice(idx, max_per_class, replace=False))
                picks.append(idx)
            keep = np.sort(np.concatenate(picks))
        n_records += len(labels)
        seq_parts.append(np.asarray(seqs, dtype=object)[keep])
        id_parts.append(np.asarray(rec_ids, dtype=object)[keep])
        exp_parts.append(np.full(len(keep), j, dtype=np.int32))
        lab_parts.append(labels[keep])
        part_parts.append(np.full(len(keep), {"train": 0, "test": 1, None: 2}[part], dtype=np.int8))
    if experiments is not None:
        missing = sorted(set(experiments) - set(names))
        if missing:
            raise InputError(f"unknown experiment(s): {', '.join(missing[:5])}.",
                             remedy="name experiments as their files/folders are named (PUM2_K562, 23_PARCLIP_PUM2, AGO1).")
    if not names:
        raise InputError("no binding-site files found.", path=shared, remedy="check the data folder.")
    seqs = np.concatenate(seq_parts)
    exp = np.concatenate(exp_parts)
    lab = np.concatenate(lab_parts)
    part = np.concatenate(part_parts)
    codes, uniques = pd.factorize(seqs)
    k, n = len(names), len(uniques)
    cell = codes.astype(np.int64) * k + exp
    hi = np.full(n * k, -1, dtype=np.int8)
    np.maximum.at(hi, cell, lab)
    y = np.where(hi >= 0, hi, np.nan).astype(np.float32).reshape(n, k)
    # split: a published RBP-31 test part wins, then a published training part, else the sequence's hash
    in_test = np.zeros(n, dtype=bool)
    in_test[codes[part == 1]] = True
    in_train = np.zeros(n, dtype=bool)
    in_train[codes[part == 0]] = True
    uniq = np.asarray(uniques, dtype=object)
    split = np.where(_hash_fraction(uniq, seed) < test_fraction, "test", "train").astype(object)
    split[in_train] = "train"
    split[in_test] = "test"
    first = np.full(n, -1, dtype=np.int64)
    order = np.arange(len(codes))[::-1]
    first[codes[order]] = order
    rec_ids = np.concatenate(id_parts)
    ids = [str(rec_ids[i]) for i in first]
    return Dataset.from_sequences(
        ids, list(uniq), y, names, split=split,
        provenance={
            "source": str(shared), "format": "binding-sites", "sources": list(sources),
            "records": int(n_records), "rows": int(n), "max_per_class": max_per_class,
            "positives_only": positives_only, "test_fraction": test_fraction, "seed": seed,
            "label_info": info,
        },
    )


def collapse_bound(ds: Dataset, name: str = "bound") -> Dataset:
    """The binary layout of a site dataset (the paper's source task): one label, 1 if any experiment lists the
    site as bound, else 0 if any lists it as unbound. The experiments stay in ``provenance["label_info"]``."""
    pos = np.any(ds.labels == 1, axis=1)
    neg = np.any(ds.labels == 0, axis=1)
    y = np.where(pos, 1.0, np.where(neg, 0.0, np.nan)).astype(np.float32)[:, None]
    prov = dict(ds.provenance)
    prov["layout"] = "binary"
    prov["experiments"] = list(ds.label_names)
    return Dataset(ids=ds.ids, tokens=ds.tokens, lengths=ds.lengths, labels=y, label_names=[name],
                   tracks=ds.tracks, split=ds.split, provenance=prov)


MIRNA_FILE = "clean_miRNA_no_duplicates_rna.txt"
NEGATIVES = ("shuffled", "paper")


def seed_family(seq: str) -> str:
    """A miRNA's seed family: nucleotides 2-8 of the mature sequence (U for T)."""
    return seq.upper().replace("T", "U")[1:8]


def _family_split(families: Sequence[str], fractions: tuple[float, float, float], seed: int) -> dict[str, str]:
    """Each family to train/val/test, families shuffled with ``seed`` and cut by the fractions of miRNAs."""
    fams = sorted(set(families))
    counts = {f: 0 for f in fams}
    for f in families:
        counts[f] += 1
    order = np.random.default_rng(seed).permutation(len(fams))
    total, acc, out = len(families), 0, {}
    cut_val, cut_test = fractions[0] * total, (fractions[0] + fractions[1]) * total
    for i in order:
        f = fams[i]
        out[f] = "train" if acc < cut_val else ("val" if acc < cut_test else "test")
        acc += counts[f]
    return out


def build_mirna_binding(
    path: str | os.PathLike,
    *,
    negatives: str = "shuffled",
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
    seed: int = 0,
) -> Dataset:
    """AGO-bound miRNAs (DeepMiRBP's target domain) against negatives, split by seed family.

    Positives: the 399 distinct AGO-bound miRNAs of the DeepMiRBP data (``Data/miRNA/``). Negatives, one per
    positive: ``"shuffled"``, a dinucleotide shuffle (same length and composition: only order can tell them
    apart); or ``"paper"``, the reversed and the reverse-complementary sequence of each miRNA (the derived files
    the DeepMiRBP repository holds: ``reversed_miRNA_sequences.txt``, ``complementary_miRNA_sequences.txt``),
    which differ in composition from the positives. Every negative goes with the miRNA it was made from, and the
    split is by seed family (nucleotides 2-8): no family is in two of train/val/test.

    Parameters
    ----------
    path : path
        The ``Data/miRNA`` folder, or its ``clean_miRNA_no_duplicates_rna.txt``.
    negatives : "shuffled" or "paper"
    fractions : (train, val, test)
        Shares of the miRNAs by family. Default is (0.7, 0.1, 0.2).
    seed : int

    Returns
    -------
    Dataset
        One label ``AGO_bound``; ids ``mirna<i>`` and ``mirna<i>:shuffled`` / ``:reversed`` / ``:revcomp``.
    """
    from rnalabel.data.sequence import decode, encode, reverse_complement, validate
    from rnalabel.data.shuffle import dinucleotide_shuffle
    from rnalabel.data.splits import check_fractions

    if negatives not in NEGATIVES:
        raise InputError(f"unknown negatives {negatives!r}.", remedy=f"choose one of: {', '.join(NEGATIVES)}.")
    p = Path(path)
    f = p / MIRNA_FILE if p.is_dir() else p
    if not f.is_file():
        raise InputError("the AGO-bound miRNA list is missing.", path=f,
                         remedy="give ../shared/data/deepmirbp/Data/miRNA (or its clean_miRNA_no_duplicates_rna.txt).")
    pos = []
    for lineno, line in enumerate(f.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields or (lineno == 1 and fields[0].lower() == "sequence"):
            continue
        pos.append(validate(fields[0], path=f, line=lineno))
    if not pos:
        raise InputError("no miRNA in the file.", path=f, remedy="give 'sequence<TAB>label' lines.")
    fam_split = _family_split([seed_family(s) for s in pos], check_fractions(fractions), seed)
    rng = np.random.default_rng(seed)
    ids, seqs, y, split = [], [], [], []
    for i, s in enumerate(pos):
        part = fam_split[seed_family(s)]
        ids.append(f"mirna{i}")
        seqs.append(s)
        y.append(1.0)
        split.append(part)
        if negatives == "shuffled":
            negs = [("shuffled", decode(dinucleotide_shuffle(encode(s), rng)))]
        else:
            negs = [("reversed", s[::-1]), ("revcomp", reverse_complement(s))]
        for tag, n in negs:
            ids.append(f"mirna{i}:{tag}")
            seqs.append(n)
            y.append(0.0)
            split.append(part)
    return Dataset.from_sequences(
        ids, seqs, np.asarray(y, dtype=np.float32)[:, None], ["AGO_bound"], split=np.asarray(split, dtype=object),
        provenance={"source": str(f), "format": "mirna-binding", "negatives": negatives, "seed": seed,
                    "fractions": list(fractions), "split_by": "seed family (nt 2-8)",
                    "families": len(fam_split), "positives": len(pos)},
    )
