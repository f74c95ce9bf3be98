"""``python -m rnalabel``: the command line (see :mod:`rnalabel.cli`)."""

from rnalabel.cli import main

main()
