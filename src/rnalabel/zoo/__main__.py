"""``python -m rnalabel.zoo build NAME --data ../shared/data``: see :mod:`rnalabel.zoo.build`."""

import sys

from rnalabel.zoo.build import main

sys.exit(main())
