"""Explain predictions: integrated gradients on every view, mapped to nucleotides; in-silico mutagenesis;
attribution maps and logos; motifs from seqlets compared with published RBP motifs.

Modules: :mod:`~rnalabel.explain.core` (the windows being explained, the Attributions result, one label's
scores), :mod:`~rnalabel.explain.attribution` (integrated gradients), :mod:`~rnalabel.explain.baselines`
(low-score, zero, dinucleotide-shuffle references), :func:`~rnalabel.data.shuffle.shuffle_tokens` (dinucleotide shuffles),
:mod:`~rnalabel.explain.mutagenesis` (ISM), :mod:`~rnalabel.explain.motifs` (seqlets, PWMs, similarity, MEME),
:mod:`~rnalabel.explain.plots` (PNG maps and logos), :mod:`~rnalabel.explain.run` (one call per label, and the
files of ``rnalabel explain``). Each view puts its own attributions on the nucleotides
(:meth:`rnalabel.views.base.View.to_nucleotides`).
"""

from rnalabel.data.shuffle import dinucleotide_shuffle, shuffle_tokens
from rnalabel.explain.attribution import integrated_gradients
from rnalabel.explain.baselines import (
    BASELINES,
    Baseline,
    low_score_baseline,
    shuffle_baseline,
    zero_baseline,
)
from rnalabel.explain.core import Attributions, AttributionWarning, Windows, label_scores, prepare_windows
from rnalabel.explain.motifs import (
    Motif,
    MotifMatch,
    Seqlets,
    discover_motifs,
    extract_seqlets,
    match_published,
    pwm_similarity,
    write_meme,
)
from rnalabel.explain.mutagenesis import in_silico_mutagenesis
from rnalabel.explain.run import LabelExplanation, explain, explain_run, write_explanation

__all__ = [
    "integrated_gradients", "in_silico_mutagenesis", "explain", "explain_run", "write_explanation",
    "Attributions", "AttributionWarning", "Windows", "LabelExplanation", "label_scores", "prepare_windows",
    "BASELINES", "Baseline", "low_score_baseline", "zero_baseline", "shuffle_baseline",
    "Motif", "MotifMatch", "Seqlets", "extract_seqlets", "discover_motifs", "match_published", "pwm_similarity",
    "write_meme", "dinucleotide_shuffle", "shuffle_tokens",
]
