"""Views: pure functions from a dataset to float32 tensors, one module per view family.

Importing this package registers the built-in views in :data:`rnalabel.views.base.VIEW_TYPES`: ``onehot``,
``aminoacid`` and ``dipeptide`` (codon), ``structure`` (ViennaRNA is imported only when folding), ``region``,
``kmer``, ``pairing`` (base-pair probability maps, a pairwise input) and ``word2vec`` (skip-gram k-mer
vectors, learned on the training data and stored as bundle artifacts), ``lm`` (hidden states of a
pretrained RNA language model, which the bundle carries) and ``neighbours`` (the labels of the most similar
training RNAs by alignment, a per-sequence view for miRNAs; the bundle carries the training rows).
"""

from rnalabel.views import codon, kmer, lm, neighbours, onehot, pairing, region, structure, word2vec  # noqa: F401  (registration)
from rnalabel.views.base import VIEW_TYPES, View, build_view, featurize, register_view
from rnalabel.views.codon import AminoAcid, Dipeptide
from rnalabel.views.kmer import Kmer, kmer_frequencies
from rnalabel.views.lm import LanguageModel
from rnalabel.views.neighbours import Neighbours
from rnalabel.views.onehot import OneHot, one_hot
from rnalabel.views.pairing import Pairing, base_pair_probabilities
from rnalabel.views.region import Region
from rnalabel.views.structure import (
    Structure,
    loop_context_profile,
    paired_unpaired_profile,
    unpaired_probability,
)
from rnalabel.views.word2vec import Word2Vec

__all__ = [
    "VIEW_TYPES", "View", "build_view", "featurize", "register_view",
    "OneHot", "one_hot",
    "AminoAcid", "Dipeptide",
    "Structure", "unpaired_probability", "loop_context_profile", "paired_unpaired_profile",
    "Region",
    "Kmer", "kmer_frequencies",
    "Pairing", "base_pair_probabilities",
    "Word2Vec", "LanguageModel", "Neighbours",
]
