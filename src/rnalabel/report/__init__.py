"""Reports of a run: plots and small files now (per-label ROC / PR curves, training history)."""

from rnalabel.report.plots import plot_curves, write_history

__all__ = ["plot_curves", "write_history"]
