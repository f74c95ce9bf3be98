"""What DeepMiRBP's second component reads about a protein: an evolutionary profile (a PSI-BLAST PSSM, or BLOSUM62
rows when there is no PSSM) and a residue contact map (from a PDB/mmCIF structure, or a plain matrix file).

* :func:`read_pssm`: PSI-BLAST ASCII PSSM (``-out_ascii_pssm``), plain or gzip: the 20 log-odds columns per residue.
* :func:`blosum_profile`: the BLOSUM62 row of each residue (a profile from the sequence alone).
* :func:`contact_map_from_structure`: Cβ-Cβ distance below ``threshold`` (8 Å; Cα for glycine), with gemmi, from
  the first model's protein chain (or the chain named).
* :func:`read_contact_matrix`: a whitespace- or comma-separated square 0/1 (or distance) matrix.
* :func:`protein_features`: one protein's profile and contact map, checked against each other.

Profiles have their 20 columns in :data:`rnalabel.data.protein.AMINO_ACIDS` order, whatever the file's order.
"""

from __future__ import annotations

import gzip
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnalabel.data.protein import AMINO_ACIDS, validate_protein
from rnalabel.errors import InputError

#: column order of PSI-BLAST's ASCII PSSM
PSSM_ORDER = "ARNDCQEGHILKMFPSTWYV"


@dataclass
class Profile:
    """A per-residue profile of a protein.

    Attributes
    ----------
    name : str
    sequence : str
    values : numpy.ndarray, shape=(L, 20), float32
        Columns in :data:`~rnalabel.data.protein.AMINO_ACIDS` order.
    source : str
        "pssm" or "blosum62".
    """

    name: str
    sequence: str
    values: np.ndarray
    source: str


def _text(path: Path, what: str) -> str:
    if not path.is_file():
        raise InputError("file not found.", path=path, remedy="check the path.")
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        raise InputError(f"cannot read {what} ({exc}).", path=path, remedy=f"give {what} as plain text or gzip.") from None


def _pssm_row_like(f: list[str]) -> bool:
    """Whether split fields look like a PSSM residue row (position, one letter, then numbers)."""
    return len(f) >= 3 and f[0].isdigit() and len(f[1]) == 1 and f[1].isalpha()


def read_pssm(path: str | os.PathLike, *, name: str | None = None) -> Profile:
    """A PSI-BLAST ASCII PSSM: the sequence and its 20 log-odds scores per residue.

    Raises
    ------
    InputError
        No header line with the 20 amino acids, a residue row with missing or non-numeric scores, a position
        missing or out of order, residue rows after a blank line, or a residue letter that is not an amino acid
        (each with the file and line).
    """
    p = Path(path)
    lines = _text(p, "a PSI-BLAST ASCII PSSM").splitlines()
    header = next((i for i, ln in enumerate(lines) if ln.split()[:20] == list(PSSM_ORDER)), None)
    if header is None:
        raise InputError("no PSSM header (a line with the 20 amino acids A R N D ... V).", path=p,
                         remedy="give PSI-BLAST's ASCII PSSM (psiblast -out_ascii_pssm).")
    seq, rows = [], []
    first = header + 1
    while first < len(lines) and not lines[first].split():  # blank lines before the first row
        first += 1
    for i in range(first, len(lines)):
        f = lines[i].split()
        if not f:  # the rows end at the first blank line; PSI-BLAST's K/Lambda footer follows
            later = next((j for j in range(i + 1, len(lines)) if _pssm_row_like(lines[j].split())), None)
            if later is not None:
                raise InputError(f"residue rows go on after a blank line (line {i + 1}).", path=p, line=later + 1,
                                 remedy="remove the blank line; give an unedited PSI-BLAST ASCII PSSM.")
            break
        if len(f) < 22 or not f[0].isdigit():
            raise InputError(f"a PSSM row must be: position, residue, 20 scores; got {len(f)} fields.", path=p,
                             line=i + 1, remedy="give an unedited PSI-BLAST ASCII PSSM (is the file cut short?).")
        if int(f[0]) != len(rows) + 1:
            raise InputError(f"position {f[0]} where {len(rows) + 1} was expected (a row missing or out of order).",
                             path=p, line=i + 1, remedy="give an unedited PSI-BLAST ASCII PSSM.")
        try:
            row = [float(x) for x in f[2:22]]
        except ValueError:
            row = [math.nan]
        if not all(math.isfinite(x) for x in row):
            raise InputError(f"non-numeric score in {' '.join(f[2:22])!r}.", path=p, line=i + 1,
                             remedy="give an unedited PSI-BLAST ASCII PSSM.")
        rows.append(row)
        seq.append(f[1])
    if not rows:
        raise InputError("the PSSM has no residue rows.", path=p, remedy="give a complete PSSM.")
    sequence = validate_protein("".join(seq), path=str(p), line=header + 2)
    order = [PSSM_ORDER.index(a) for a in AMINO_ACIDS]
    values = np.asarray(rows, dtype=np.float32)[:, order]
    return Profile(name or p.name.split(".")[0], sequence, values, "pssm")


def blosum_profile(sequence: str, *, name: str = "protein") -> Profile:
    """The BLOSUM62 row of each residue (ambiguous letters: the mean row), for proteins without a PSSM."""
    from Bio.Align import substitution_matrices

    seq = validate_protein(sequence, name=name)
    m = substitution_matrices.load("BLOSUM62")
    table = {a: [m[a][b] for b in AMINO_ACIDS] for a in AMINO_ACIDS}
    mean = np.mean(list(table.values()), axis=0)
    values = np.asarray([table.get(a, mean) for a in seq], dtype=np.float32)
    return Profile(name, seq, values, "blosum62")


def contact_map_from_structure(
    path: str | os.PathLike, *, chain: str | None = None, threshold: float = 8.0
) -> tuple[str, np.ndarray]:
    """(sequence, contacts (L, L) bool) of one protein chain of a PDB or mmCIF file.

    A residue's point is its Cβ (Cα for glycine, or where Cβ is missing); residues with neither are refused.
    Two residues are in contact when their points are closer than ``threshold`` Å. The chain is ``chain`` or
    the first polymer chain of the first model.
    """
    import gemmi

    p = Path(path)
    if not p.is_file():
        raise InputError("structure file not found.", path=p, remedy="check the path.")
    try:
        st = gemmi.read_structure(str(p))
    except Exception as exc:  # noqa: BLE001 - gemmi's C++ errors surface as several types (IndexError on empty mmCIF)
        raise InputError(f"cannot read the structure ({type(exc).__name__}: {exc}).", path=p,
                         remedy="give a PDB or mmCIF file.") from None
    if len(st) == 0:
        raise InputError("the structure has no model.", path=p, remedy="give a PDB or mmCIF file with atoms.")
    model = st[0]
    chains = [c for c in model if chain is None or c.name == chain]
    residues = []
    for c in chains:
        residues = [r for r in c if gemmi.find_tabulated_residue(r.name) is not None
                    and gemmi.find_tabulated_residue(r.name).is_amino_acid()]
        if residues:
            break
    if not residues:
        raise InputError(f"no protein chain{' ' + chain if chain else ''} in the structure.", path=p,
                         remedy="name a protein chain with --chain, or give another file.")
    points, seq = [], []
    for r in residues:
        atom = (r.find_atom("CB", "*") if r.name != "GLY" else None) or r.find_atom("CA", "*")
        if atom is None:
            raise InputError(f"residue {r.name} {r.seqid.num} of chain {c.name} has no CB or CA atom.", path=p,
                             remedy="give a structure with backbone atoms (or a contact matrix file).")
        points.append(atom.pos.tolist())
        seq.append(gemmi.find_tabulated_residue(r.name).one_letter_code.upper() or "X")
    xyz = np.asarray(points, dtype=np.float64)
    d = np.sqrt(((xyz[:, None, :] - xyz[None, :, :]) ** 2).sum(-1))
    return "".join(seq), d < threshold


def read_contact_matrix(path: str | os.PathLike, *, threshold: float | None = None) -> np.ndarray:
    """A square matrix file (whitespace or commas): 0/1 contacts, or distances turned into contacts with
    ``threshold`` (a value below it is a contact)."""
    p = Path(path)
    rows = []
    for i, line in enumerate(_text(p, "a contact matrix").splitlines(), start=1):
        f = line.replace(",", " ").split()
        if not f:
            continue
        try:
            row = [float(x) for x in f]
        except ValueError:
            row = [math.nan]
        if any(math.isnan(x) for x in row):
            raise InputError("a contact matrix holds numbers only (no NaN).", path=p, line=i,
                             remedy="give a square matrix of 0/1 (or distances with a threshold).")
        rows.append(row)
    if not rows or any(len(r) != len(rows) for r in rows):
        raise InputError(f"the contact matrix is not square ({len(rows)} rows).", path=p,
                         remedy="give an L x L matrix for a protein of L residues.")
    m = np.asarray(rows)
    return m < threshold if threshold is not None else m > 0.5


@dataclass
class ProteinFeatures:
    """One protein as the protein encoder reads it.

    Attributes
    ----------
    name : str
    profile : Profile
    contacts : numpy.ndarray of bool, shape=(L, L), or None
    """

    name: str
    profile: Profile
    contacts: np.ndarray | None = None

    @property
    def length(self) -> int:
        return len(self.profile.sequence)


def protein_features(
    name: str,
    *,
    sequence: str | None = None,
    pssm: str | os.PathLike | None = None,
    structure: str | os.PathLike | None = None,
    contacts: str | os.PathLike | None = None,
    chain: str | None = None,
) -> ProteinFeatures:
    """A protein's profile (PSSM, else BLOSUM62 rows of its sequence or of the structure's sequence) and contact
    map (structure or matrix file), checked to describe the same number of residues.

    Raises
    ------
    InputError
        Nothing to build a profile from, or a PSSM / sequence whose length disagrees with the contact map
        (naming both files).
    """
    cmap, struct_seq = None, None
    if structure is not None:
        struct_seq, cmap = contact_map_from_structure(structure, chain=chain)
    elif contacts is not None:
        cmap = read_contact_matrix(contacts)
    if pssm is not None:
        prof = read_pssm(pssm, name=name)
    elif sequence is not None or struct_seq is not None:
        prof = blosum_profile(sequence if sequence is not None else struct_seq, name=name)
    else:
        raise InputError(f"protein {name!r}: nothing to build a profile from.",
                         remedy="give its sequence, a PSSM or a structure.")
    if cmap is not None and len(cmap) != len(prof.sequence):
        src = pssm if pssm is not None else "the sequence"
        raise InputError(f"protein {name!r}: {src} has {len(prof.sequence)} residues but the contact map "
                         f"({structure or contacts}) has {len(cmap)}.", path=structure or contacts,
                         remedy="give a PSSM and a structure of the same protein chain (or name the chain).")
    return ProteinFeatures(name, prof, cmap)


def _read_pssm_map(path: str | os.PathLike, pssm_dir: str | os.PathLike | None) -> dict[str, Path]:
    """``GENE  PSSM-FILE`` lines (tab or spaces; ``#`` comments) -> {GENE (upper case): path}; every file must
    exist (relative paths are under ``pssm_dir``)."""
    p = Path(path)
    out: dict[str, Path] = {}
    for i, line in enumerate(_text(p, "a GENE<TAB>PSSM-FILE map").splitlines(), start=1):
        f = line.split("#", 1)[0].split()
        if not f:
            continue
        if len(f) != 2:
            raise InputError(f"expected 2 fields (gene symbol and PSSM file), found {len(f)}.", path=p, line=i,
                             remedy="give one 'GENE<TAB>FILE' per line, e.g. 'PRPF8<TAB>PRP8_HUMAN.pssm.gz'.")
        target = Path(f[1]) if Path(f[1]).is_absolute() or pssm_dir is None else Path(pssm_dir) / f[1]
        if not target.is_file():
            raise InputError(f"PSSM file {f[1]!r} not found ({target}).", path=p, line=i,
                             remedy="name a file in --pssm-dir (or give its full path).")
        out[f[0].upper()] = target
    return out


def known_protein_features(
    names: list[str],
    *,
    pssm_dir: str | os.PathLike | None = None,
    fasta: list[str | os.PathLike] | None = None,
    pssm_map: str | os.PathLike | None = None,
) -> tuple[list[ProteinFeatures], list[str]]:
    """Profiles of the proteins called ``names`` (gene symbols) from what is on disk: a PSSM named
    ``<NAME>_HUMAN.pssm[.gz]`` or ``<NAME>.pssm[.gz]`` in ``pssm_dir``, or the one ``pssm_map`` gives for it (a
    two-column text file ``GENE  PSSM-FILE``, e.g. ``PRPF8  PRP8_HUMAN.pssm.gz`` for PSSMs named by UniProt entry
    name; files relative to ``pssm_dir``); else a PSSM of the same sequence as the FASTA record ``NAME`` (ids
    compared case-insensitively, an ``_iso1``-style suffix dropped); else BLOSUM62 rows of that record. Returns
    (features found, names with nothing)."""
    from rnalabel.io.fasta import read_protein_fasta

    pssms: dict[str, Path] = {}
    if pssm_dir is not None:
        d = Path(pssm_dir)
        if not d.is_dir():
            raise InputError("PSSM folder not found.", path=d, remedy="give the folder of .pssm(.gz) files.")
        pssms = {p.name.split(".")[0].upper(): p for p in d.iterdir() if ".pssm" in p.name}
    mapped = _read_pssm_map(pssm_map, pssm_dir) if pssm_map is not None else {}
    seqs: dict[str, str] = {}
    for f in fasta or []:
        ps = read_protein_fasta(f)
        for pid, s in zip(ps.ids, ps.sequences, strict=True):
            seqs.setdefault(pid.split("_iso")[0].upper(), s)
    by_seq: dict[str, Path] | None = None
    found, missing = [], []
    for name in names:
        key = name.upper()
        path = mapped.get(key) or pssms.get(f"{key}_HUMAN") or pssms.get(key)
        if path is None and key in seqs and pssms:
            if by_seq is None:
                by_seq = {}
                for p in pssms.values():
                    try:
                        by_seq.setdefault(read_pssm(p).sequence, p)
                    except InputError:
                        continue
            path = by_seq.get(seqs[key])
        if path is not None:
            found.append(ProteinFeatures(name, read_pssm(path, name=name)))
        elif key in seqs:
            found.append(ProteinFeatures(name, blosum_profile(seqs[key], name=name)))
        else:
            missing.append(name)
    return found, missing


def new_proteins(
    *,
    fasta: str | os.PathLike | None = None,
    pssm: str | os.PathLike | None = None,
    structure: str | os.PathLike | None = None,
    contacts: str | os.PathLike | None = None,
    name: str = "new_protein",
    chain: str | None = None,
) -> list[ProteinFeatures]:
    """Proteins without binding data, as a user gives them: every record of a FASTA file (BLOSUM62 profiles), and/or
    one protein from a PSSM and/or a structure (its ``chain``, default the first protein chain) or contact matrix
    (checked to agree in length)."""
    from rnalabel.io.fasta import read_protein_fasta

    out: list[ProteinFeatures] = []
    if fasta is not None:
        ps = read_protein_fasta(fasta)
        out += [ProteinFeatures(pid, blosum_profile(s, name=pid)) for pid, s in zip(ps.ids, ps.sequences, strict=True)]
    if pssm is not None or structure is not None or contacts is not None:
        if structure is None and contacts is not None and pssm is None:
            raise InputError("a contact matrix alone gives no profile.", path=contacts,
                             remedy="give the protein's PSSM too (--pssm).")
        out.append(protein_features(name, pssm=pssm, structure=structure, contacts=contacts, chain=chain))
    return out
