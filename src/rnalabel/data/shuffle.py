"""Dinucleotide shuffling: random sequences with exactly the dinucleotide counts of a given one.

Used as the "shuffle" reference of integrated gradients, as a null background for motifs, and as composition-matched
controls for the similarity index (miRNAs that cannot be told apart by composition). The walk follows
Altschul & Erikson (1985): a sequence is an Eulerian path through its dinucleotide graph; keeping, for each
letter, the edge by which the original sequence last leaves it (these last exits form a tree towards the final
letter) and permuting all other successor lists gives another Eulerian path, i.e. another sequence with the same
first letter, last letter and dinucleotide counts. (The tree of last exits is kept, not resampled, so the draw is
not uniform over all such sequences; this is the common practical variant.)
"""

from __future__ import annotations

import numpy as np

from rnalabel.data.sequence import PAD


def dinucleotide_shuffle(tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One dinucleotide-preserving shuffle of a token sequence.

    Parameters
    ----------
    tokens : numpy.ndarray, shape=(L,), integer
        Any small-integer alphabet (A,C,G,U = 0..3 and 4 for N are shuffled alike).
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray, shape=(L,), same dtype
        Same first and last letter and the same count of every dinucleotide as ``tokens``.
    """
    seq = np.asarray(tokens)
    n = len(seq)
    if n < 3:
        return seq.copy()
    letters, idx = np.unique(seq, return_inverse=True)
    successors = []
    for t in range(len(letters)):
        nxt = np.flatnonzero(idx[:-1] == t) + 1
        if len(nxt) > 1:  # permute every exit but the last one
            nxt[:-1] = nxt[:-1][rng.permutation(len(nxt) - 1)]
        successors.append(nxt)
    used = np.zeros(len(letters), dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    out[0] = idx[0]
    pos = 0
    for j in range(1, n):
        t = idx[pos]
        pos = successors[t][used[t]]
        used[t] += 1
        out[j] = idx[pos]
    return letters[out].astype(seq.dtype)


def shuffle_tokens(
    tokens: np.ndarray, lengths: np.ndarray, *, n: int = 1, seed: int = 0
) -> np.ndarray:
    """``n`` dinucleotide shuffles of every row of a padded token matrix (padding stays at the end).

    Parameters
    ----------
    tokens : numpy.ndarray, shape=(N, L), dtype=uint8
    lengths : numpy.ndarray, shape=(N,)
        Only the first ``lengths[i]`` tokens of row i are shuffled.
    n : int
        Shuffles per row. Default is 1.
    seed : int
        Default is 0.

    Returns
    -------
    numpy.ndarray, shape=(n, N, L), dtype=uint8
        ``out[k, i]`` is the k-th shuffle of row i.
    """
    rng = np.random.default_rng(seed)
    tokens = np.asarray(tokens)
    out = np.full((n, *tokens.shape), PAD, dtype=np.uint8)
    for k in range(n):
        for i, (row, m) in enumerate(zip(tokens, lengths, strict=True)):
            m = int(m)
            out[k, i, :m] = dinucleotide_shuffle(row[:m], rng)
            out[k, i, m:] = row[m:]
    return out
