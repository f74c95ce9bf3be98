"""Binding sites pooled across CLIP sources, AGO-bound miRNAs split by seed family, miRBase names."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pytest

from rnalabel.errors import InputError
from rnalabel.io.binding_sites import (
    build_binding_sites,
    build_mirna_binding,
    collapse_bound,
    experiment_proteins,
    seed_family,
)
from rnalabel.io.mirbase import lookup_mirnas


@pytest.mark.parametrize("name, proteins", [
    ("PUM2_K562", ["PUM2"]), ("AGGF1_HepG2", ["AGGF1"]), ("AGO1", ["AGO1"]),
    ("1_PARCLIP_AGO1234", ["AGO1", "AGO2", "AGO3", "AGO4"]), ("15_PARCLIP_IGF2BP123", ["IGF2BP1", "IGF2BP2", "IGF2BP3"]),
    ("6_CLIP-seq-eIF4AIII_1", ["EIF4A3"]), ("25_CLIPSEQ_SFRS1", ["SRSF1"]), ("27_ICLIP_TDP43", ["TARDBP"]),
    ("3_HITSCLIP_Ago2", ["AGO2"]), ("30_ICLIP_U2AF65", ["U2AF2"]), ("20_ICLIP_hnRNPlike", ["HNRNPLL"]),
    ("14_PARCLIP_FUS_mut", ["FUS"]),
])
def test_experiment_proteins(name, proteins):
    assert experiment_proteins(name) == proteins


def _write_mirnas(path, seqs):
    path.write_text("sequence\tlabel\n" + "".join(f"{s}\t1\n" for s in seqs))
    return path


MIRS = ["UGAGGUAGUAGGUUGUAUAGUU", "UGAGGUAGUAGGUUGUGUGGUU", "UAGCUUAUCAGACUGAUGUUGA", "AAACCGUUACCAUUACUGAGUU",
        "UGUGCAAAUCCAUGCAAAACUGA", "AUCACAUUGCCAGGGAUUUCC", "UAAAGUGCUUAUAGUGCAGGUAG", "CAUUGCACUUGUCUCGGUCUGA",
        "UGGAAUGUAAAGAAGUAUGUAU", "AACCCGUAGAUCCGAUCUUGUG"]


def test_mirna_binding_is_split_by_seed_family(tmp_path):
    ds = build_mirna_binding(_write_mirnas(tmp_path / "m.txt", MIRS), negatives="shuffled", seed=1,
                             fractions=(0.5, 0.2, 0.3))
    assert len(ds) == 2 * len(MIRS) and ds.label_names == ["AGO_bound"]
    fams: dict[str, set] = {}
    for sid, seq, part, y in zip(ds.ids, ds.sequences, ds.split, ds.labels[:, 0], strict=True):
        base = sid.split(":")[0]
        src = MIRS[int(base[5:])]
        fams.setdefault(seed_family(src), set()).add(part)
        if y == 0:  # a dinucleotide shuffle: same letters, ends and length
            assert sorted(seq) == sorted(src) and seq[0] == src[0] and seq[-1] == src[-1]
    assert all(len(parts) == 1 for parts in fams.values())  # no family on two sides
    assert set(ds.split) <= {"train", "val", "test"}
    # let-7a and let-7c-like share a seed family: same side
    assert seed_family(MIRS[0]) == seed_family(MIRS[1])


def test_mirna_binding_paper_negatives(tmp_path):
    ds = build_mirna_binding(_write_mirnas(tmp_path / "m.txt", MIRS[:2]), negatives="paper")
    seqs = dict(zip(ds.ids, ds.sequences, strict=True))
    assert seqs["mirna0:reversed"] == MIRS[0][::-1]
    assert seqs["mirna0:revcomp"] == "AACUAUACAACCUACUACCUCA"  # as in the DeepMiRBP repository's derived file
    assert Counter(ds.labels[:, 0].tolist()) == {1.0: 2, 0.0: 4}
    with pytest.raises(InputError, match="negatives"):
        build_mirna_binding(tmp_path / "m.txt", negatives="random")
    with pytest.raises(InputError, match="missing"):
        build_mirna_binding(tmp_path / "nothere")


def test_mirbase_lookup(tmp_path, monkeypatch):
    from rnalabel.io.mirbase import NameExpandedWarning

    fa = tmp_path / "mature.fa"
    fa.write_text(">hsa-miR-451a MIMAT1\nAAACCGUUACCAUUACUGAGUU\n>hsa-let-7d-5p MIMAT2\nAGAGGUAGUAGGUUGCAUAGUU\n"
                  ">hsa-let-7d-3p MIMAT3\nCUAUACGACCUGCUGCCUUUCU\n>mmu-miR-451a MIMAT4\nAAACCGUUACCAUUACUGAGUU\n"
                  ">hsa-miR-4510 MIMAT5\nGAGGGAGGAUGGGUGGGAGGUG\n")
    with pytest.warns(NameExpandedWarning, match="both arms"):
        ds = lookup_mirnas(["hsa-miR-451", "let-7d", "HSA-LET-7D-5P"], fa)
    assert list(ds.ids) == ["hsa-miR-451a", "hsa-let-7d-3p", "hsa-let-7d-5p"]  # not hsa-miR-4510
    assert lookup_mirnas(["miR-451a"], fa, species="mmu").ids.tolist() == ["mmu-miR-451a"]
    with pytest.raises(InputError, match="no miRNA called 'hsa-miR-99'") as e:
        lookup_mirnas(["hsa-miR-99"], fa)
    assert str(fa) in str(e.value)
    monkeypatch.delenv("RNALABEL_MIRBASE", raising=False)
    with pytest.raises(InputError, match="mature.fa"):
        lookup_mirnas(["hsa-miR-451"])
    monkeypatch.setenv("RNALABEL_MIRBASE", str(fa))
    assert len(lookup_mirnas(["hsa-miR-451a"])) == 1
    assert lookup_mirnas(["mimat3", "MIMAT4"], fa).ids.tolist() == ["hsa-let-7d-3p", "mmu-miR-451a"]  # accessions
    with pytest.raises(InputError, match="no miRNA with accession 'MIMAT9'"):
        lookup_mirnas(["MIMAT9"], fa)

    fam = tmp_path / "fam.fa"
    fam.write_text(fa.read_text() + ">hsa-let-7a-5p MIMAT6\nUGAGGUAGUAGGUUGUAUAGUU\n")
    with pytest.warns(NameExpandedWarning, match="'hsa-let-7' matches 3 miRNAs of 2 family members"):
        assert len(lookup_mirnas(["hsa-let-7"], fam)) == 3
    for name in ("hsa-let-7d", "let-7d"):  # both arms of one miRNA: said as a family is
        with pytest.warns(NameExpandedWarning, match=f"'{name}' matches 2 miRNAs .both arms. .hsa-let-7d-3p, "
                          "hsa-let-7d-5p.; all are used"):
            assert len(lookup_mirnas([name], fam)) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", NameExpandedWarning)  # one miRNA named whole, or with its letter added
        assert len(lookup_mirnas(["hsa-let-7d-5p", "hsa-miR-451"], fam)) == 2


@pytest.mark.realdata
def test_pooled_sites_on_the_public_data(shared_data):
    exps = ["AARS_K562", "23_PARCLIP_PUM2", "AGO2"]
    ds = build_binding_sites(shared_data, experiments=exps, max_per_class=50, seed=0)
    assert ds.label_names == exps  # eclip, rbp31, deepmirbp order
    assert ds.provenance["label_info"]["23_PARCLIP_PUM2"] == {"proteins": ["PUM2"], "source": "rbp31"}
    known = ~np.isnan(ds.labels)
    assert (known.sum(axis=0) <= 2 * 50 * 2).all()  # rbp31 has two parts, each capped
    # an RBP-31 site keeps its published part; ids name experiment, part and coordinates
    rbp = np.flatnonzero(known[:, 1])
    parts = {sid.split(":")[1] for sid in ds.ids[rbp]}
    assert parts <= {"train", "test"}
    for i in rbp:
        if ds.ids[i].startswith("23_PARCLIP_PUM2:"):
            assert ds.split[i] == ds.ids[i].split(":")[1]
    b = collapse_bound(ds)
    assert b.label_names == ["bound"] and b.provenance["experiments"] == exps
    assert np.array_equal(b.labels[:, 0] == 1, np.any(ds.labels == 1, axis=1))
    pos = build_binding_sites(shared_data, experiments=["AGO1"], positives_only=True)
    assert np.all(pos.labels == 1) and len(pos) > 2000
    with pytest.raises(InputError, match="unknown experiment"):
        build_binding_sites(shared_data, experiments=["NOPE_K562"])
    with pytest.raises(InputError, match="source"):
        build_binding_sites(shared_data, sources=["pdb"])
