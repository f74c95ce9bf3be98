"""Protein profiles and contact maps: PSSM, BLOSUM62, structures built with gemmi here, matrix files, bad input."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from rnalabel.data.protein import AMINO_ACIDS
from rnalabel.errors import InputError, SequenceError
from rnalabel.io.protein_features import (
    blosum_profile,
    contact_map_from_structure,
    known_protein_features,
    new_proteins,
    protein_features,
    read_contact_matrix,
    read_pssm,
)

PSSM_HEAD = ("\nLast position-specific scoring matrix computed, weighted observed percentages rounded down\n"
             "            A   R   N   D   C   Q   E   G   H   I   L   K   M   F   P   S   T   W   Y   V"
             "   A   R   N   D   C   Q   E   G   H   I   L   K   M   F   P   S   T   W   Y   V\n")


def _pssm(path, seq: str, *, bad_row: int | None = None):
    rows = []
    for i, a in enumerate(seq):
        scores = [str((i + j) % 7 - 3) for j in range(20)]
        if i == bad_row:
            scores[3] = "x"
        rows.append(f"{i + 1:5d} {a}   " + " ".join(scores) + "   " + " ".join(["0"] * 20) + "  0.50 0.10")
    text = PSSM_HEAD + "\n".join(rows) + "\n\n                      K         Lambda\nStandard Ungapped    0.1296     0.3134\n"
    if str(path).endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _structure(path, residues):
    """A one-chain PDB of (residue name, x, has CB) written with gemmi."""
    import gemmi

    st = gemmi.Structure()
    st.add_model(gemmi.Model("1"))
    ch = gemmi.Chain("A")
    for i, (name, x, cb) in enumerate(residues):
        r = gemmi.Residue()
        r.name, r.seqid = name, gemmi.SeqId(i + 1, " ")
        for an, dx in (("CA", 0.0), ("CB", 1.0)):
            if an == "CB" and not cb:
                continue
            a = gemmi.Atom()
            a.name, a.element, a.pos = an, gemmi.Element("C"), gemmi.Position(x + dx, 0, 0)
            r.add_atom(a)
        ch.add_residue(r)
    st[0].add_chain(ch)
    st.setup_entities()
    st.write_pdb(str(path))
    return path


def test_read_pssm_reorders_columns(tmp_path):
    p = read_pssm(_pssm(tmp_path / "X_HUMAN.pssm.gz", "MKV"))
    assert p.sequence == "MKV" and p.values.shape == (3, 20) and p.source == "pssm" and p.name == "X_HUMAN"
    # file column j (order ARNDCQEGHILKMFPSTWYV) holds (i + j) % 7 - 3
    r = "ARNDCQEGHILKMFPSTWYV"
    for a in "AWV":
        assert p.values[1, AMINO_ACIDS.index(a)] == (1 + r.index(a)) % 7 - 3


def test_bad_pssms(tmp_path):
    with pytest.raises(InputError, match=r"a\.pssm:5: non-numeric"):
        read_pssm(_pssm(tmp_path / "a.pssm", "MKV", bad_row=1))
    (tmp_path / "b.pssm").write_text("hello\n")
    with pytest.raises(InputError, match="no PSSM header"):
        read_pssm(tmp_path / "b.pssm")
    with pytest.raises(SequenceError):
        read_pssm(_pssm(tmp_path / "c.pssm", "M1V"))
    with pytest.raises(InputError, match="not found"):
        read_pssm(tmp_path / "none.pssm")
    text = _pssm(tmp_path / "n.pssm", "MKV").read_text().splitlines()
    text[4] = text[4].replace("-3", "nan", 1) if "-3" in text[4] else text[4][:12] + " nan" + text[4][16:]
    (tmp_path / "n.pssm").write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match=r"n\.pssm:5: non-numeric"):  # NaN or inf scores are not scores
        read_pssm(tmp_path / "n.pssm")


def test_damaged_pssms_are_refused_not_truncated(tmp_path):
    """A row cut short, a blank line inside the rows, or a missing position used to end the rows there silently
    (a 3-residue protein read as 1); each is now an error at the file and line. Rows 1-3 are lines 4-6."""
    good = _pssm(tmp_path / "g.pssm", "MKVL").read_text().splitlines()
    cases = {
        "short": (good[:4] + [good[4][:30]] + good[5:], r"short\.pssm:5: a PSSM row must be"),
        "blank": (good[:5] + [""] + good[5:], r"blank\.pssm:7: residue rows go on after a blank line \(line 6\)"),
        "gap": (good[:4] + good[5:], r"gap\.pssm:5: position 3 where 2 was expected"),
    }
    for name, (lines, match) in cases.items():
        (tmp_path / f"{name}.pssm").write_text("\n".join(lines) + "\n")
        with pytest.raises(InputError, match=match):
            read_pssm(tmp_path / f"{name}.pssm")
    assert read_pssm(tmp_path / "g.pssm").sequence == "MKVL"  # the footer after the blank line is not a row


def test_blosum_profile():
    p = blosum_profile("wa", name="x")  # case-insensitive
    assert p.sequence == "WA" and p.values[0, AMINO_ACIDS.index("W")] == 11 and p.values[1, AMINO_ACIDS.index("A")] == 4
    with pytest.raises(SequenceError):
        blosum_profile("MK7")


def test_contact_map_from_structure(tmp_path):
    pdb = _structure(tmp_path / "t.pdb", [("MET", 0, True), ("GLY", 3.8, False), ("ALA", 7.6, True),
                                          ("LYS", 30, True)])
    seq, c = contact_map_from_structure(pdb)
    assert seq == "MGAK"
    # points: M CB 1.0, G CA 3.8 (glycine), A CB 8.6, K CB 31: contacts under 8 A
    assert c.tolist() == [[True, True, True, False], [True, True, True, False], [True, True, True, False],
                          [False, False, False, True]]
    _, c6 = contact_map_from_structure(pdb, threshold=6.0)
    assert not c6[0, 2]
    with pytest.raises(InputError, match="no CB or CA"):
        contact_map_from_structure(_no_ca(tmp_path))
    with pytest.raises(InputError, match="no protein chain B"):
        contact_map_from_structure(pdb, chain="B")


def _no_ca(tmp_path):
    import gemmi

    st = gemmi.Structure()
    st.add_model(gemmi.Model("1"))
    ch = gemmi.Chain("A")
    r = gemmi.Residue()
    r.name, r.seqid = "LYS", gemmi.SeqId(1, " ")
    a = gemmi.Atom()
    a.name, a.element, a.pos = "NZ", gemmi.Element("N"), gemmi.Position(0, 0, 0)
    r.add_atom(a)
    ch.add_residue(r)
    st[0].add_chain(ch)
    st.write_pdb(str(tmp_path / "noca.pdb"))
    return tmp_path / "noca.pdb"


def test_contact_matrix_files(tmp_path):
    (tmp_path / "m.txt").write_text("1 0 1\n0,1,0\n1 0 1\n")
    assert read_contact_matrix(tmp_path / "m.txt").sum() == 5
    (tmp_path / "d.txt").write_text("0 9\n9 0\n")
    assert read_contact_matrix(tmp_path / "d.txt", threshold=8).tolist() == [[True, False], [False, True]]
    (tmp_path / "r.txt").write_text("1 0\n0 1 1\n")
    with pytest.raises(InputError, match="not square"):
        read_contact_matrix(tmp_path / "r.txt")
    (tmp_path / "t.txt").write_text("1 a\n0 1\n")
    with pytest.raises(InputError, match=r"t\.txt:1: a contact matrix holds numbers only"):
        read_contact_matrix(tmp_path / "t.txt")
    (tmp_path / "n.txt").write_text("0 1\nnan 0\n")
    with pytest.raises(InputError, match=r"n\.txt:2: a contact matrix holds numbers only"):
        read_contact_matrix(tmp_path / "n.txt")
    (tmp_path / "e.cif").write_text("")  # gemmi raised IndexError on an empty mmCIF (found by the fuzz tests)
    with pytest.raises(InputError, match="cannot read the structure"):
        contact_map_from_structure(tmp_path / "e.cif")


def test_features_must_agree_in_length(tmp_path):
    pdb = _structure(tmp_path / "t.pdb", [("MET", 0, True), ("LYS", 3.8, True), ("VAL", 7.6, True)])
    f = protein_features("p", pssm=_pssm(tmp_path / "p.pssm", "MKV"), structure=pdb)
    assert f.length == 3 and f.contacts.shape == (3, 3) and f.profile.source == "pssm"
    assert protein_features("q", structure=pdb).profile.source == "blosum62"  # sequence from the structure
    with pytest.raises(InputError, match="4 residues but the contact map"):
        protein_features("p", pssm=_pssm(tmp_path / "l.pssm", "MKVA"), structure=pdb)
    with pytest.raises(InputError, match="nothing to build a profile"):
        protein_features("p")
    with pytest.raises(InputError, match="contact matrix alone"):
        new_proteins(contacts=tmp_path / "x.txt")


def test_known_protein_features(tmp_path):
    d = tmp_path / "pssm"
    d.mkdir()
    _pssm(d / "PUM2_HUMAN.pssm.gz", "MNHD")
    _pssm(d / "IF2B1_HUMAN.pssm", "MKVA")  # named by UniProt entry: found through its sequence
    (tmp_path / "p.fa").write_text(">IGF2BP1\nMKVA\n>QKI_iso1\nMVGE\n")
    feats, missing = known_protein_features(["PUM2", "IGF2BP1", "QKI", "NOPE"], pssm_dir=d, fasta=[tmp_path / "p.fa"])
    assert [(f.name, f.profile.source) for f in feats] == [("PUM2", "pssm"), ("IGF2BP1", "pssm"), ("QKI", "blosum62")]
    assert missing == ["NOPE"]
    (tmp_path / "bad.fa").write_text(">X\nMK#\n")
    with pytest.raises(SequenceError):
        new_proteins(fasta=tmp_path / "bad.fa")
    assert np.isfinite(feats[0].profile.values).all()
    # a PSSM named by UniProt entry with no FASTA record to match its sequence: found through --pssm-map
    _pssm(d / "PRP8_HUMAN.pssm.gz", "MAGV")
    (tmp_path / "map.tsv").write_text("# gene\tpssm\nPRPF8\tPRP8_HUMAN.pssm.gz\n")
    feats, missing = known_protein_features(["PRPF8", "NOPE"], pssm_dir=d, pssm_map=tmp_path / "map.tsv")
    assert [(f.name, f.profile.sequence, f.profile.source) for f in feats] == [("PRPF8", "MAGV", "pssm")]
    assert missing == ["NOPE"]
    for text, match in (("PRPF8\n", r"map\.tsv:1: expected 2 fields"), ("A\tnone.pssm\n", r"map\.tsv:1: PSSM file")):
        (tmp_path / "map.tsv").write_text(text)
        with pytest.raises(InputError, match=match):
            known_protein_features(["PRPF8"], pssm_dir=d, pssm_map=tmp_path / "map.tsv")
