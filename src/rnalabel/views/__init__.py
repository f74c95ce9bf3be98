"""Views: pure functions from a dataset to float32 tensors, one module per view family.

Importing this package registers the built-in views in :data:`rnalabel.views.base.VIEW_TYPES`: ``onehot``,
``aminoacid`` and ``dipeptide`` (codon), ``region`` and ``kmer``.
"""

from rnalabel.views import codon, kmer, onehot, region  # noqa: F401  (registration)
from rnalabel.views.base import VIEW_TYPES, View, build_view, featurize, register_view
from rnalabel.views.codon import AminoAcid, Dipeptide
from rnalabel.views.kmer import Kmer, kmer_frequencies
from rnalabel.views.onehot import OneHot, one_hot
from rnalabel.views.region import Region

__all__ = [
    "VIEW_TYPES", "View", "build_view", "featurize", "register_view",
    "OneHot", "one_hot",
    "AminoAcid", "Dipeptide",
    "Region",
    "Kmer", "kmer_frequencies",
]
