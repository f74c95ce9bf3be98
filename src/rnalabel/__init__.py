"""rnalabel: multi-view, multi-label deep learning for RNA.

Which proteins bind an RNA, and where in the cell it goes. See the README for a tour of the CLI and the API.
"""

__version__ = "0.1.0"
