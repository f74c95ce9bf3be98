"""A small table of published RBP motifs, and IUPAC consensus helpers.

The consensus strings are the ones the papers and databases report; they seed the embedded demo data and are
what discovered motifs are compared against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: IUPAC code -> the bases it stands for (RNA alphabet).
IUPAC_BASES: dict[str, str] = {
    "A": "A", "C": "C", "G": "G", "U": "U", "T": "U",
    "R": "AG", "Y": "CU", "S": "CG", "W": "AU", "K": "GU", "M": "AC",
    "B": "CGU", "D": "AGU", "H": "ACU", "V": "ACG", "N": "ACGU",
}


@dataclass(frozen=True)
class PublishedMotif:
    """One published RBP motif.

    Attributes
    ----------
    rbp : str
        Protein (gene symbol).
    consensus : str
        IUPAC consensus, RNA alphabet.
    source : str
        Where it was reported.
    """

    rbp: str
    consensus: str
    source: str


PUBLISHED_MOTIFS: dict[str, PublishedMotif] = {
    m.rbp: m
    for m in [
        PublishedMotif("PUM2", "UGUAHAUA", "Hafner et al. 2010 (PAR-CLIP); Multi-resBind Fig. 3"),
        PublishedMotif("QKI", "ACUAAY", "Hafner et al. 2010 (PAR-CLIP); Multi-resBind Fig. 3"),
        PublishedMotif("MBNL1", "YGCY", "YGCY (YGCU/GCUU), often repeated: Lambert et al. 2014 (RBNS); Multi-resBind Fig. 3"),
        PublishedMotif("ELAVL1", "AUUUAUUUA", "HuR AU-rich element, U-rich: Mukherjee et al. 2011"),
        PublishedMotif("SRSF1", "GAAGAA", "purine-rich ESE: Ray et al. 2013 (RNAcompete)"),
        PublishedMotif("TIA1", "UUUUUUU", "U-rich: Ray et al. 2013 (RNAcompete)"),
        PublishedMotif("HNRNPC", "UUUUUUUU", "poly-U: Konig et al. 2010 (iCLIP)"),
    ]
}


def consensus_to_pwm(consensus: str) -> np.ndarray:
    """Position probability matrix of an IUPAC consensus: each position spreads evenly over its bases.

    Returns
    -------
    numpy.ndarray, shape=(len(consensus), 4), rows sum to 1 (columns A, C, G, U)
    """
    pwm = np.zeros((len(consensus), 4), dtype=np.float64)
    for i, c in enumerate(consensus.upper()):
        bases = IUPAC_BASES[c]
        for b in bases:
            pwm[i, "ACGU".index(b)] = 1.0 / len(bases)
    return pwm


def sample_consensus(consensus: str, rng: np.random.Generator) -> str:
    """One concrete sequence matching an IUPAC consensus (each ambiguous position drawn uniformly)."""
    return "".join(rng.choice(list(IUPAC_BASES[c])) for c in consensus.upper())


def matches(seq: str, consensus: str) -> bool:
    """True when ``seq`` contains a site matching ``consensus``."""
    cons = consensus.upper()
    for i in range(len(seq) - len(cons) + 1):
        if all(seq[i + j] in IUPAC_BASES[c] for j, c in enumerate(cons)):
            return True
    return False
