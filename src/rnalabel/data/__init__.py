"""Data: sequences and their tokens, the Dataset (labels with NaN = unknown, tracks, splits, Parquet), proteins,
windows, multi-label splits, training augmentation, atomic file output, the table of published RBP motifs and
the synthetic demo data.

Modules: :mod:`~rnalabel.data.sequence` (RNA alphabet, tokens, validation), :mod:`~rnalabel.data.protein`
(amino-acid alphabet, :class:`ProteinSet`), :mod:`~rnalabel.data.dataset` (:class:`Dataset`, Parquet),
:mod:`~rnalabel.data.windows` (fixed-width windows), :mod:`~rnalabel.data.splits` (iterative stratification),
:mod:`~rnalabel.data.augment` (shortened training copies), :mod:`~rnalabel.data.shuffle` (dinucleotide
shuffles), :mod:`~rnalabel.data.files` (atomic writes, JSON),
:mod:`~rnalabel.data.published_motifs` (published RBP motifs, IUPAC helpers), :mod:`~rnalabel.data.synthetic`
(the embedded demo data).
"""

from rnalabel.data.dataset import SPLITS, Dataset, Track, label_index, track_from_strings
from rnalabel.data.files import atomic_path, jsonable, write_text_atomic
from rnalabel.data.protein import ProteinSet
from rnalabel.data.splits import split_iterative
from rnalabel.data.windows import Windows, make_windows, window_starts

__all__ = [
    "SPLITS", "Dataset", "ProteinSet", "Track", "label_index", "track_from_strings", "atomic_path", "jsonable",
    "write_text_atomic", "split_iterative", "Windows", "make_windows", "window_starts",
]
