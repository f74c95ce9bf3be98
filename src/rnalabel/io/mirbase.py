"""miRNAs by name: look mature miRNAs up in a miRBase ``mature.fa`` the user has on disk (never downloaded).

``hsa-miR-21-5p`` matches exactly; a name without an arm or a letter matches every entry that adds only those
(``hsa-miR-451`` -> ``hsa-miR-451a``; ``hsa-let-7d`` -> ``hsa-let-7d-5p`` and ``hsa-let-7d-3p``); a name without a
species prefix gets ``species`` (``miR-21`` -> ``hsa-miR-21-5p`` ...). Case is ignored. A miRBase accession
(``MIMAT0000062``) names its entry. A name that matches several family members (``hsa-let-7`` -> let-7a ... let-7i)
takes them all, with a :class:`NameExpandedWarning` that lists them; so does a name that matches both arms of one
miRNA (``hsa-let-7d``).
"""

from __future__ import annotations

import difflib
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

from rnalabel.data import Dataset
from rnalabel.errors import InputError

#: environment variable naming a default miRBase mature.fa
MIRBASE_ENV = "RNALABEL_MIRBASE"
_SUFFIX = re.compile(r"^[a-z]?(-[35]p)?$")
_ACCESSION = re.compile(r"^MIMAT\d+$", re.IGNORECASE)


class NameExpandedWarning(UserWarning):
    """A miRNA name matched more than one mature sequence (a family, or both arms of one miRNA)."""


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
    records, accession = {}, {}
    for rec in iter_fasta(path):
        records[rec.id] = rec.sequence
        first = rec.description.split()[:1]
        if first and _ACCESSION.match(first[0]):
            accession[first[0].upper()] = rec.id
    lower = {k.lower(): k for k in records}
    ids, seqs = [], []
    for name in wanted:
        hits: list[str] = []
        if _ACCESSION.match(name):
            if name.upper() not in accession:
                raise InputError(f"no miRNA with accession {name!r} in this miRBase file.", path=path,
                                 remedy="check the accession (MIMAT followed by 7 digits) or give the name.")
            hits = [accession[name.upper()]]
        for key in (() if hits else (name.lower(), f"{species}-{name}".lower())):
            hits = [lower[key]] if key in lower else sorted(
                v for k, v in lower.items() if k.startswith(key) and _SUFFIX.match(k[len(key):]))
            if hits:
                break
        stems = {re.sub(r"-[35]p$", "", h.lower()) for h in hits}
        if len(hits) > 1:  # a family, or both arms of one miRNA: either way not the one miRNA a name usually means
            of = f" of {len(stems)} family members" if len(stems) > 1 else " (both arms)"
            warnings.warn(f"{name!r} matches {len(hits)} miRNAs{of} ("
                          f"{', '.join(hits[:6])}{' ...' if len(hits) > 6 else ''}); all are used. Give a full name "
                          f"(e.g. {hits[0] if len(stems) == 1 else 'hsa-let-7d-5p'}) for one.", NameExpandedWarning,
                          stacklevel=2)
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
