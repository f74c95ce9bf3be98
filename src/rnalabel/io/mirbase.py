"""miRNAs by name: look mature miRNAs up in a miRBase ``mature.fa`` the user has on disk (never downloaded).

``hsa-miR-21-5p`` matches exactly; a name without an arm or a letter matches every entry that adds only those
(``hsa-miR-451`` -> ``hsa-miR-451a``; ``hsa-let-7d`` -> ``hsa-let-7d-5p`` and ``hsa-let-7d-3p``); a name without a
species prefix gets ``species`` (``miR-21`` -> ``hsa-miR-21-5p`` ...). Case is ignored.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from pathlib import Path

from rnalabel.data import Dataset
from rnalabel.errors import InputError

#: environment variable naming a default miRBase mature.fa
MIRBASE_ENV = "RNALABEL_MIRBASE"
_SUFFIX = re.compile(r"^[a-z]?(-[35]p)?$")


def mirbase_path(path: str | os.PathLike | None = None) -> Path:
    """The mature.fa to use: ``path``, else ``$RNALABEL_MIRBASE``; neither raises ``InputError``."""
    p = path or os.environ.get(MIRBASE_ENV)
    if not p:
        raise InputError("miRNA names need a miRBase mature.fa.",
                         remedy=f"give --mirbase PATH/mature.fa (or set {MIRBASE_ENV}); rnalabel never downloads it.")
    p = Path(p)
    if not p.is_file():
        raise InputError("miRBase file not found.", path=p, remedy="give the path of miRBase's mature.fa.")
    return p


def lookup_mirnas(names: Sequence[str], mature: str | os.PathLike | None = None, *, species: str = "hsa") -> Dataset:
    """Mature miRNAs by name, as a Dataset (ids are the miRBase names, in the order asked).

    Raises
    ------
    InputError
        A name that matches nothing (naming the file and the closest names), or no name.
    """
    from rnalabel.io.fasta import iter_fasta

    path = mirbase_path(mature)
    wanted = [n.strip() for n in names if n.strip()]
    if not wanted:
        raise InputError("no miRNA name given.", remedy="e.g. hsa-miR-21-5p,hsa-let-7d.")
    records = {rec.id: rec.sequence for rec in iter_fasta(path)}
    lower = {k.lower(): k for k in records}
    ids, seqs = [], []
    for name in wanted:
        hits: list[str] = []
        for key in (name.lower(), f"{species}-{name}".lower()):
            hits = [lower[key]] if key in lower else sorted(
                v for k, v in lower.items() if k.startswith(key) and _SUFFIX.match(k[len(key):]))
            if hits:
                break
        if not hits:
            key = name.lower() if name.lower().startswith(f"{species.lower()}-") else f"{species}-{name}".lower()
            pool = [k for k in lower if k.startswith(key.split("-", 1)[0] + "-")]
            near = [lower[n] for n in difflib.get_close_matches(key, pool, n=4, cutoff=0.6)]
            raise InputError(f"no miRNA called {name!r} in miRBase.", path=path,
                             remedy=f"check the name (e.g. {', '.join(near) or 'hsa-miR-21-5p'}), or give a FASTA file.")
        for h in hits:
            if h not in ids:
                ids.append(h)
                seqs.append(records[h])
    return Dataset.from_sequences(ids, seqs, provenance={"source": str(path), "format": "mirbase", "names": wanted})
