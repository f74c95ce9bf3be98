"""Reports of a run: plots and small files (per-label ROC / PR curves, training history) and the self-contained
HTML report (:mod:`~rnalabel.report.html`, jinja2 + embedded images)."""

from rnalabel.report.plots import plot_curves, write_history

__all__ = ["plot_curves", "write_history"]
