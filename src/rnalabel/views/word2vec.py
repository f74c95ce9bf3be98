"""word2vec view: each k-mer of an RNA as a vector learned by skip-gram on the training sequences (gensim).

MMLmiRLocNet's syntactic view (Xu et al.): "consecutive k-mer nucleotide sequences in a window are treated as
individual words and converted into feature vectors ... a sequence window of 120 nucleotides into a
256-dimensional matrix ... sequences shorter than 120 nucleotides were zero-padded". Here:

* words are the overlapping k-mers of a sequence (k = 3 by default), a sentence is one sequence;
* :meth:`Word2Vec.fit` trains gensim's skip-gram (``sg=1``) on the **training** sequences only, with one worker
  thread, a fixed seed and a stable word hash, so that it is deterministic from one process to the next; the
  vectors of all 4**k k-mers (zeros for a k-mer the training data never had) are kept in lexicographic k-mer order (:func:`rnalabel.views.kmer.kmer_names`);
* :meth:`Word2Vec.transform` gives ``(N, dim, length)``: the vector of the k-mer starting at each of the first
  ``length`` positions, zero where a k-mer runs past the sequence's end or holds N (a sequence with more than
  ``length`` k-mers is refused, never cut);
* the vectors and the vocabulary are artifacts of the view (:meth:`rnalabel.views.base.View.artifacts`): a model
  bundle stores them as ``artifacts/view.<name>.vectors.npy`` and ``.vocabulary.json``, with checksums, never
  pickled; loading checks the vocabulary against the k-mers the view expects.

Choices the paper leaves open: k (3), the skip-gram window (5 words), epochs (20), minimum count (1), negative
sampling (gensim's default 5).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from rnalabel.errors import ConfigError
from rnalabel.views.base import View, artifact_field, refuse_longer, register_view
from rnalabel.views.kmer import kmer_codes, kmer_names

if TYPE_CHECKING:
    from rnalabel.data import Dataset


def train_kmer_vectors(tokens: np.ndarray, lengths: np.ndarray, *, k: int, dim: int, window: int, epochs: int,
                       seed: int) -> np.ndarray:
    """Skip-gram vectors of every k-mer from sequences given as tokens, shape=(4**k, dim), float32."""
    from gensim.models import Word2Vec as GensimWord2Vec

    names = kmer_names(k)
    codes = kmer_codes(tokens, lengths, k)
    sentences = [[names[c] for c in row if c >= 0] for row in codes]
    sentences = [s for s in sentences if s]
    out = np.zeros((4**k, dim), dtype=np.float32)
    if not sentences:
        return out
    model = GensimWord2Vec(sentences=sentences, vector_size=dim, window=window, min_count=1, sg=1, epochs=epochs,
                           seed=seed, workers=1, hashfxn=_stable_hash)
    for word, i in model.wv.key_to_index.items():
        out[_index(word)] = model.wv.vectors[i]
    return out


def _stable_hash(text: str) -> int:
    """gensim seeds each word's initial vector with a hash of the word; Python's own ``hash`` changes from one
    process to the next (PYTHONHASHSEED), which would make the vectors differ run to run."""
    return zlib.crc32(text.encode())


def _index(word: str) -> int:
    code = 0
    for c in word:
        code = code * 4 + "ACGU".index(c)
    return code


@register_view
@dataclass(frozen=True)
class Word2Vec(View):
    """Skip-gram k-mer vectors per position, (N, dim, length); see the module docstring.

    Parameters
    ----------
    k : int
        Word length. Default is 3.
    dim : int
        Vector size. Default is 256 (the paper's).
    length : int
        Positions given to the model; longer sequences are cut, shorter ones zero-padded. Default is 120 (the
        paper's).
    window : int
        Skip-gram context, in words. Default is 5.
    epochs : int
        Default is 20.
    seed : int
        Default is 0.
    """

    type = "word2vec"
    kind = "position"
    k: int = 3
    dim: int = 256
    length: int = 120
    window: int = 5
    epochs: int = 20
    seed: int = 0
    vectors: Any = artifact_field()
    vocabulary: Any = artifact_field()

    def __post_init__(self) -> None:
        for name, low, high in (("k", 1, 6), ("dim", 1, 4096), ("length", 1, 100_000), ("window", 1, 100),
                                ("epochs", 1, 10_000)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                raise ConfigError(f"word2vec view: {name} must be a whole number from {low} to {high}, got {v!r}.")

    def channels(self, dataset: Dataset | None = None) -> int:
        return self.dim

    def fit(self, dataset: Dataset) -> Word2Vec:
        """Learn the k-mer vectors from ``dataset`` (the training rows)."""
        vectors = train_kmer_vectors(dataset.tokens, dataset.lengths, k=self.k, dim=self.dim, window=self.window,
                                     epochs=self.epochs, seed=self.seed)
        return replace(self, vectors=vectors, vocabulary=kmer_names(self.k))

    def with_artifacts(self, values: dict[str, Any]) -> Word2Vec:
        view = super().with_artifacts(values)
        if view.vocabulary is not None and list(view.vocabulary) != kmer_names(self.k):
            raise ConfigError(f"the stored vocabulary is not the {4 ** self.k} {self.k}-mers this view uses.")
        if view.vectors is not None and np.shape(view.vectors) != (4**self.k, self.dim):
            raise ConfigError(f"the stored vectors have shape {np.shape(view.vectors)}, not "
                              f"({4 ** self.k}, {self.dim}).")
        return view

    def position_map(self, n_positions: int, window: int) -> np.ndarray | None:
        """Position i is the k-mer starting at nucleotide i: its attribution is split over those k bases."""
        pos = np.arange(n_positions, dtype=np.int64)[:, None] + np.arange(self.k)[None, :]
        pos[pos >= window] = -1
        return pos

    def transform(self, dataset: Dataset) -> np.ndarray:
        if self.vectors is None:
            raise ConfigError("the word2vec view has no vectors: it must be fitted on training data first.",
                              remedy="train a recipe with it (fit learns the vectors), or load a model that has it.")
        refuse_longer(dataset, self.length + self.k - 1, f"the word2vec view ({self.length} {self.k}-mers) covers without cutting it",
                      remedy="give shorter sequences, or train with a larger `length` in the word2vec view.")
        codes = kmer_codes(dataset.tokens[:, : self.length + self.k - 1], dataset.lengths, self.k)[:, : self.length]
        table = np.vstack([np.asarray(self.vectors, dtype=np.float32), np.zeros((1, self.dim), np.float32)])
        emb = table[np.where(codes >= 0, codes, len(table) - 1)]  # (N, span, dim); -1 -> the zero row
        out = np.zeros((len(codes), self.dim, self.length), dtype=np.float32)
        out[:, :, : emb.shape[1]] = emb.transpose(0, 2, 1)
        return out
