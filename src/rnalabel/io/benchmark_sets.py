"""Multi-label datasets built from the public benchmark layouts (see ``io/importers.py`` for the file formats).

* :func:`load_rbp31_experiment` / :func:`build_rbp31_multitask`: RBP-31 (iONMF), one experiment or all 31 as one
  multi-task dataset with NaN where an experiment did not assay a sequence; the published train/test split kept.
* :func:`build_eclip_multilabel`: the 91 ENCODE eCLIP experiments joined by exact sequence into one
  sequence x RBP matrix, plus a ``negative`` label for sampled sequences bound in no experiment.
* :func:`build_mirna_localization`: multi-label miRNA localization (6 compartments, or the MMLmiRLocNet 4).
* :func:`build`: one entry point by name, with an optional iterative-stratification split (used by the CLI).

Joins are by exact normalised sequence, hashed with :func:`pandas.factorize`; counts of what was merged,
conflicting and dropped are written into ``provenance``.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnalabel.data import Dataset, split_iterative
from rnalabel.errors import InputError
from rnalabel.io._common import file_stem
from rnalabel.io.importers import (
    MIRLOC_LABELS,
    RBP31_FILE,
    RBP31_PARTS,
    rbp31_short_name,
    read_mirna_localization,
    read_rbp31,
    read_rbp31_fasta,
    read_seq_labels,
)

#: default number of sampled unbound eCLIP sequences (the typical positive count of one experiment)
ECLIP_N_NEGATIVE = 5000
MIRLOC_CSV = "mirlocpredictor_dev.csv"


def _first_index(codes: np.ndarray) -> np.ndarray:
    """Index of the first occurrence of each code, for codes numbered in order of first appearance
    (as :func:`pandas.factorize` numbers them); shape=(codes.max() + 1,)."""
    prev_max = np.maximum.accumulate(np.concatenate([[-1], codes[:-1]]))
    return np.flatnonzero(codes > prev_max)


# RBP-31 ------------------------------------------------------------------------------------------------------
def _rbp31_clip_dir(root: str | os.PathLike) -> Path:
    r = Path(root)
    for cand in (r / "datasets" / "clip", r / "clip", r):
        if cand.is_dir() and any((d / "30000").is_dir() for d in cand.iterdir() if d.is_dir()):
            return cand
    raise InputError("no RBP-31 experiments found (expected datasets/clip/<experiment>/30000/...).", path=r,
                     remedy="give the rbp31 folder that holds datasets/ (iONMF/iDeepS layout).")


def _number(folder: str) -> int:
    m = re.match(r"(\d+)_", folder)
    return int(m.group(1)) if m else 10**6


def rbp31_experiments(root: str | os.PathLike) -> list[str]:
    """Experiment folder names under ``root/datasets/clip``, in numeric order (1..31).

    Parameters
    ----------
    root : path
        The rbp31 folder (the one holding ``datasets/``); ``datasets/clip`` itself is accepted too.
    """
    clip = _rbp31_clip_dir(root)
    names = [d.name for d in clip.iterdir() if (d / "30000").is_dir()]
    return sorted(names, key=lambda n: (_number(n), n))


def _resolve_rbp31(root: str | os.PathLike, experiment: str) -> str:
    names = rbp31_experiments(root)
    exp = str(experiment)
    for n in names:
        if exp in (n, rbp31_short_name(n)) or (exp.isdigit() and _number(n) == int(exp)):
            return n
    raise InputError(f"unknown RBP-31 experiment {exp!r}.", path=_rbp31_clip_dir(root),
                     remedy="give a folder name, its number (1..31) or short name, e.g. 23 or 23_PARCLIP_PUM2.")


def load_rbp31_experiment(root: str | os.PathLike, experiment: str | int, *, split: str = "both") -> Dataset:
    """One RBP-31 experiment as a one-label Dataset with its published split.

    Parameters
    ----------
    root : path
        The rbp31 folder (holding ``datasets/``).
    experiment : str or int
        Folder name (``23_PARCLIP_PUM2_hg19``), its number (``"23"`` or 23) or short name (``23_PARCLIP_PUM2``).
    split : str
        "both", "train" (``training_sample_0``) or "test" (``test_sample_0``). Default is "both".

    Returns
    -------
    Dataset
        Label named by :func:`rbp31_short_name`; ``split`` column "train"/"test"; provenance names the folder.
        Typically 30,000 train rows (6,000 positive) and 10,000 test rows (2,000 positive).
    """
    if split not in ("both", "train", "test"):
        raise InputError(f"split must be 'both', 'train' or 'test', not {split!r}.")
    folder = _resolve_rbp31(root, str(experiment))
    parts = ("train", "test") if split == "both" else (split,)
    return read_rbp31(_rbp31_clip_dir(root) / folder, parts=parts)


def build_rbp31_multitask(
    root: str | os.PathLike,
    *,
    experiments: Sequence[str] | None = None,
    cross_split: str = "drop_train",
) -> Dataset:
    """All RBP-31 experiments as one multi-task dataset (one label per experiment, NaN where not assayed).

    Within each published part (train, test) identical sequences are merged into one row that carries the
    label of every experiment that holds the sequence, NaN for the others. When one experiment lists the same
    sequence with both classes in one part, the row gets 1 (a bound site is evidence; an unbound draw is not)
    and the count goes into ``provenance["conflicts"]``.

    The same sequence can sit in one experiment's training part and another's (or the same one's) test part.
    Kept as it is, a multi-task model would see a test sequence during training. With the default
    ``cross_split="drop_train"`` those training rows are removed, so the test rows stay exactly the published
    test sets (per-experiment test results remain comparable to the literature) and no test sequence is ever
    trained on; the cost is a few training rows, counted in ``provenance["cross_split"]``. ``"keep"`` keeps
    both rows (the published split as is, for comparison). On the public data: 1,240,000 records merge into
    835,784 training and 288,112 test rows; 33,812 training sequences also occur in a test part (12 of them in
    the same experiment's test part) and are dropped, leaving 801,972 training rows. No experiment lists a
    sequence with both classes.

    Parameters
    ----------
    root : path
        The rbp31 folder (holding ``datasets/``).
    experiments : sequence of str, optional
        Experiments (names, numbers or short names). Default is all 31, in numeric order.
    cross_split : str
        "drop_train" or "keep". Default is "drop_train".

    Returns
    -------
    Dataset
        Labels shape=(N, K) with K experiments, named by :func:`rbp31_short_name`; ``split`` "train"/"test";
        each row's id is the id of its first record (``<label>:<part>:<index>:<coords>``).
    """
    import pandas as pd

    if cross_split not in ("drop_train", "keep"):
        raise InputError(f"cross_split must be 'drop_train' or 'keep', not {cross_split!r}.")
    clip = _rbp31_clip_dir(root)
    folders = rbp31_experiments(root) if experiments is None else [_resolve_rbp31(root, e) for e in experiments]
    if len(set(folders)) != len(folders):
        raise InputError("an experiment is named twice.", remedy="name each experiment once.")
    names = [rbp31_short_name(f) for f in folders]
    k = len(folders)
    ids: list[str] = []
    seqs: list[str] = []
    exp_parts, part_parts, label_parts = [], [], []
    for j, (folder, name) in enumerate(zip(folders, names, strict=True)):
        for p, part in enumerate(("train", "test")):
            sl = read_rbp31_fasta(clip / folder / "30000" / RBP31_PARTS[part] / RBP31_FILE,
                                  prefix=f"{name}:{part}:")
            ids += sl.ids
            seqs += sl.sequences
            exp_parts.append(np.full(len(sl), j, dtype=np.int64))
            part_parts.append(np.full(len(sl), p, dtype=np.int64))
            label_parts.append(sl.labels)
    exp = np.concatenate(exp_parts)
    part = np.concatenate(part_parts)
    label = np.concatenate(label_parts).astype(np.int8)
    codes, uniques = pd.factorize(np.asarray(seqs, dtype=object))
    n_u = len(uniques)
    # one group per (part, sequence), ordered by part then first appearance
    ginv, gkey = pd.factorize(part * n_u + codes)
    order = np.argsort(gkey, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    inv, gkey, first = rank[ginv], gkey[order], _first_index(ginv)[order]
    cell = inv * k + exp
    hi = np.full(len(gkey) * k, -1, dtype=np.int8)
    lo = np.full(len(gkey) * k, 2, dtype=np.int8)
    np.maximum.at(hi, cell, label)
    np.minimum.at(lo, cell, label)
    conflict = (hi == 1) & (lo == 0)
    y = np.where(hi >= 0, hi, np.nan).astype(np.float32).reshape(len(gkey), k)
    g_part, g_code = gkey // n_u, gkey % n_u

    # sequences in both parts, and whether one experiment holds the sequence in both of its parts
    in_test = np.zeros(n_u, dtype=bool)
    in_test[g_code[g_part == 1]] = True
    cross = (g_part == 0) & in_test[g_code]
    pair = codes * k + exp
    in_train_pair = np.zeros(n_u * k, dtype=bool)
    in_train_pair[pair[part == 0]] = True
    test_pair = pair[part == 1]
    same_exp = pd.unique(test_pair[in_train_pair[test_pair]] // k)
    keep = ~cross if cross_split == "drop_train" else np.ones(len(gkey), dtype=bool)

    per_exp_conflicts = conflict.reshape(len(gkey), k).sum(axis=0)
    ds = Dataset.from_sequences(
        [ids[i] for i in first[keep]],
        [uniques[c] for c in g_code[keep]],
        y[keep], names,
        split=np.where(g_part[keep] == 0, "train", "test").astype(object),
        provenance={
            "source": str(clip), "format": "rbp31-multitask",
            "experiments": dict(zip(names, folders, strict=True)),
            "records": int(len(seqs)),
            "rows": {"train": int(np.sum(keep & (g_part == 0))), "test": int(np.sum(keep & (g_part == 1)))},
            "merged_records": int(len(seqs) - len(gkey)),
            "conflicts": {n: int(c) for n, c in zip(names, per_exp_conflicts, strict=True) if c},
            "cross_split": {
                "policy": cross_split,
                "sequences_in_train_and_test": int(cross.sum()),
                "same_experiment": int(len(same_exp)),
                "train_rows_dropped": int((~keep).sum()),
            },
        },
    )
    return ds


# eCLIP -------------------------------------------------------------------------------------------------------
def _eclip_dir(root: str | os.PathLike) -> Path:
    r = Path(root)
    for cand in (r / "eCLIP_Data", r):
        if cand.is_dir() and _eclip_files(cand):
            return cand
    raise InputError("no eCLIP files found (expected eCLIP_Data/<RBP>_<cell>.gz).", path=r,
                     remedy="give the eclip folder that holds eCLIP_Data/, or eCLIP_Data itself.")


def _eclip_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.suffix in (".gz", "") and "_" in p.name)


def eclip_experiments(root: str | os.PathLike) -> list[str]:
    """Experiment names (file stems such as ``AARS_K562``) under ``root/eCLIP_Data``, sorted."""
    return [file_stem(p) for p in _eclip_files(_eclip_dir(root))]


def build_eclip_multilabel(
    root: str | os.PathLike,
    *,
    experiments: Sequence[str] | None = None,
    n_negative: int | None = ECLIP_N_NEGATIVE,
    seed: int = 0,
) -> Dataset:
    """Join eCLIP experiments by exact sequence into one sequence x RBP multi-label matrix.

    Every sequence that is a positive of at least one experiment becomes a row with 1 for each experiment it
    is a positive of and 0 for every other experiment (a site absent from an experiment's peaks is taken as
    not bound by that RBP). A last label, ``negative``, marks sampled sequences bound in no experiment: they
    come from the experiments' negatives that are not positive anywhere, drawn without replacement with
    ``seed``. Without them every row would have a positive and a model could not learn "nothing binds here".

    The default of 5,000 negatives (:data:`ECLIP_N_NEGATIVE`) is the positive count of a typical experiment
    (each file holds 5,000 positives), so ``negative`` is as frequent as a typical RBP label and the bound
    rows (328,547 on the public data) still dominate; ``n_negative=None`` keeps all of them (643,480, which
    would swamp the bound rows).

    On the 91 public files (1,363,557 lines): 328,547 unique bound sequences, 49,443 bound in two or more
    experiments (up to 72), 19,136 bound sequences listed as a negative of another experiment (they are rows
    with their positives only). About 10 s and 0.8 GB on two busy cores.

    Parameters
    ----------
    root : path
        The eclip folder (holding ``eCLIP_Data/``) or ``eCLIP_Data`` itself.
    experiments : sequence of str, optional
        File stems (``AARS_K562``). Default is all files (91).
    n_negative : int or None
        Sampled unbound sequences; None for all. Default is 5000.
    seed : int
        Default is 0.

    Returns
    -------
    Dataset
        Labels shape=(N, K + 1): K experiments then ``negative``; bound rows first (in order of first
        appearance), then negatives. Each row's id is ``<stem>:<line>`` of its first occurrence. No split.
        Provenance holds the join counts (unique bound sequences, sequences bound in >= 2 experiments ...).
    """
    import pandas as pd

    folder = _eclip_dir(root)
    files = {file_stem(p): p for p in _eclip_files(folder)}
    if experiments is None:
        names = list(files)
    else:
        names = list(experiments)
        unknown = [e for e in names if e not in files]
        if unknown:
            raise InputError(f"unknown eCLIP experiment(s): {', '.join(unknown[:5])}.", path=folder,
                             remedy="choose file stems such as " + ", ".join(list(files)[:3]) + ".")
        if len(set(names)) != len(names):
            raise InputError("an experiment is named twice.", remedy="name each experiment once.")
    if n_negative is not None and n_negative < 0:
        raise InputError(f"n_negative must be >= 0 or None, not {n_negative}.")
    k = len(names)
    seqs: list[str] = []
    exp_parts, label_parts, line_parts = [], [], []
    for j, name in enumerate(names):
        sl = read_seq_labels(files[name])
        seqs += sl.sequences
        exp_parts.append(np.full(len(sl), j, dtype=np.int64))
        label_parts.append(sl.labels)
        line_parts.append(sl.lines)
    exp = np.concatenate(exp_parts)
    label = np.concatenate(label_parts).astype(bool)
    line = np.concatenate(line_parts)
    codes, uniques = pd.factorize(np.asarray(seqs, dtype=object))
    del seqs
    n_u = len(uniques)
    first = _first_index(codes)  # first record of each unique sequence
    pos_pair = np.sort(pd.unique(codes[label] * k + exp[label]))  # (sequence, experiment) positives
    neg_pair = pd.unique(codes[~label] * k + exp[~label])
    n_bound_in = np.bincount(pos_pair // k, minlength=n_u)
    bound_codes = np.flatnonzero(n_bound_in)
    n_bound_in = n_bound_in[bound_codes]
    row_of = np.full(n_u, -1, dtype=np.int64)
    row_of[bound_codes] = np.arange(len(bound_codes))
    is_bound = row_of >= 0
    in_neg = np.zeros(n_u, dtype=bool)
    in_neg[neg_pair // k] = True
    pool = np.flatnonzero(in_neg & ~is_bound)
    pos_mask = np.zeros(n_u * k, dtype=bool)
    pos_mask[pos_pair] = True
    n_pos_and_neg = int(pos_mask[neg_pair].sum())
    del pos_mask
    rng = np.random.default_rng(seed)
    if n_negative is None or n_negative >= len(pool):
        negs = pool
    else:
        negs = np.sort(rng.choice(pool, size=n_negative, replace=False))

    n_rows = len(bound_codes) + len(negs)
    y = np.zeros((n_rows, k + 1), dtype=np.float32)
    y[row_of[pos_pair // k], pos_pair % k] = 1.0
    y[len(bound_codes):, k] = 1.0
    row_codes = np.concatenate([bound_codes, negs])
    rec = first[row_codes]
    ids = [f"{names[e]}:{n}" for e, n in zip(exp[rec], line[rec], strict=True)]
    multi = np.bincount(n_bound_in)
    counts = {
        "records": int(len(codes)),
        "positive_records": int(label.sum()),
        "unique_sequences": int(n_u),
        "unique_bound": int(len(bound_codes)),
        "bound_in_2_or_more": int(np.sum(n_bound_in >= 2)),
        "experiments_per_bound_sequence": {str(i): int(c) for i, c in enumerate(multi) if i and c},
        "duplicate_positive_records": int(label.sum() - len(pos_pair)),
        "positive_and_negative_in_one_experiment": n_pos_and_neg,
        "negative_elsewhere_but_bound": int(np.sum(in_neg & is_bound)),
        "negative_pool": int(len(pool)),
        "negative_sampled": int(len(negs)),
    }
    return Dataset.from_sequences(
        ids, [uniques[c] for c in row_codes], y, [*names, "negative"],
        provenance={"source": str(folder), "format": "eclip-multilabel", "experiments": names,
                    "n_negative": n_negative, "seed": seed, "counts": counts,
                    # a label that means "no RBP": predicted and scored, never offered as a protein
                    "label_info": {"negative": {"pseudo": True, "meaning": "bound in no experiment (not a protein)"}}},
    )


# miRNA localization ---------------------------------------------------------------------------------------------
def build_mirna_localization(root_csv: str | os.PathLike, *, labels: Sequence[str] | None = None) -> Dataset:
    """Multi-label miRNA localization from the MirLocPredictor CSV.

    Parameters
    ----------
    root_csv : path
        ``mirlocpredictor_dev.csv`` or the folder holding it.
    labels : sequence of str, optional
        Compartments, in order. Default is all six (Exosome, Cytoplasm, Mitochondrion, Microvesicle, Circulating,
        Nucleus); ``("Nucleus", "Exosome", "Cytoplasm", "Microvesicle")`` gives the four of MMLmiRLocNet.

    Returns
    -------
    Dataset
        840 miRNAs (ids are miRNA names), no split.
    """
    p = Path(root_csv)
    if p.is_dir():
        p = p / MIRLOC_CSV
    return read_mirna_localization(p, labels=labels or MIRLOC_LABELS)


# one entry point --------------------------------------------------------------------------------------------------
BUILDERS = ("eclip", "rbp31", "mirloc", "binding-sites", "mirna-binding")


def build(
    kind: str,
    root: str | os.PathLike,
    *,
    split: Sequence[float] | None = (0.7, 0.1, 0.2),
    seed: int = 0,
    n_negative: int | None = ECLIP_N_NEGATIVE,
    experiments: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    max_per_class: int | None = None,
    positives_only: bool = False,
    layout: str = "multitask",
    negatives: str = "shuffled",
) -> Dataset:
    """Build a multi-label dataset by name and assign a split (what ``rnalabel data build`` runs).

    Parameters
    ----------
    kind : str
        "eclip", "rbp31", "mirloc", "binding-sites" (DeepMiRBP's pooled sites: root is the data folder holding
        eclip/, rbp31/ and deepmirbp/; see :func:`rnalabel.io.binding_sites.build_binding_sites`) or
        "mirna-binding" (AGO-bound miRNAs against negatives, split by seed family: root is
        ``deepmirbp/Data/miRNA``; see :func:`rnalabel.io.binding_sites.build_mirna_binding`). The last two come
        with their own split (``split`` fractions are used by mirna-binding for its family split, ignored by
        binding-sites, whose test part is the published RBP-31 test parts plus 10 % of the rest).
    root : path
        The dataset folder (``eclip``, ``rbp31``, ``mirna_localization`` or its CSV, the data folder, the miRNA
        folder).
    split : (float, float, float) or None
        Train/val/test fractions for :func:`rnalabel.data.split_iterative`. For rbp31 the published test part
        is kept and only the training part is divided into train and val in the ratio of the first two
        fractions. None leaves eclip and mirloc unsplit and rbp31 with its published train/test.
        Default is (0.7, 0.1, 0.2).
    seed : int
        Seeds the negative sampling (eclip) and the split. Default is 0.
    n_negative : int or None
        eclip only; see :func:`build_eclip_multilabel`. Default is 5000.
    experiments : sequence of str, optional
        eclip and rbp31: a subset of experiments. Default is all.
    labels : sequence of str, optional
        mirloc only: the compartments. Default is all six.
    max_per_class, positives_only, layout : binding-sites only
        Sites per class and experiment (None: all); only bound sites (for an index); "multitask" (one label per
        experiment) or "binary" (one label ``bound``).
    negatives : "shuffled" or "paper"
        mirna-binding only.

    Returns
    -------
    Dataset
        With ``provenance["built"]`` (date, kind, split fractions, seed).
    """
    if kind == "eclip":
        ds = build_eclip_multilabel(root, experiments=experiments, n_negative=n_negative, seed=seed)
    elif kind == "rbp31":
        ds = build_rbp31_multitask(root, experiments=experiments)
    elif kind == "mirloc":
        ds = build_mirna_localization(root, labels=labels)
    elif kind == "binding-sites":
        from rnalabel.io.binding_sites import build_binding_sites, collapse_bound

        if layout not in ("multitask", "binary"):
            raise InputError(f"unknown layout {layout!r}.", remedy="choose multitask or binary.")
        ds = build_binding_sites(root, experiments=experiments, max_per_class=max_per_class,
                                 positives_only=positives_only, seed=seed)
        ds = collapse_bound(ds) if layout == "binary" else ds
        split = None
    elif kind == "mirna-binding":
        from rnalabel.io.binding_sites import build_mirna_binding

        ds = build_mirna_binding(root, negatives=negatives, seed=seed,
                                 **({"fractions": tuple(split)} if split is not None else {}))
        split = None
    else:
        raise InputError(f"unknown dataset {kind!r}.", remedy=f"choose one of {', '.join(BUILDERS)}.")
    if split is not None:
        ds = split_iterative(ds, tuple(split), seed=seed, only_unsplit=(kind == "rbp31"))
    ds.provenance["built"] = {
        "kind": kind, "root": str(root), "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "split": None if split is None else list(split), "seed": seed,
    }
    if ds.split is not None:
        ds.provenance["split_counts"] = {s: int(np.sum(ds.split == s)) for s in ("train", "val", "test")}
    return ds
