"""``rnalabel train --init``, ``index`` and ``rank`` end to end, and their user errors (one line, exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from rnalabel.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def work(tmp_path_factory, demo_small):
    d = tmp_path_factory.mktemp("sim")
    sites = demo_small.subset(np.arange(300))
    sites.provenance["label_info"] = {"PUM2": {"proteins": ["PUM2"]}}
    sites.to_parquet(d / "sites.parquet")
    recipe = {"model": "deepmirbp", "kind": "embedding", "window": 101,
              "params": {"embed_dim": 8, "lstm_units": 4, "attention": 4, "hidden": 4},
              "views": {"seq": {"type": "onehot", "pad_value": 0}}, "train": {"max_epochs": 1, "batch_size": 64}}
    (d / "tiny.yaml").write_text(yaml.safe_dump(recipe))
    r = invoke("train", d / "sites.parquet", "--out", d / "src", "--recipe", d / "tiny.yaml", "--no-progress")
    assert r.exit_code == 0, r.output
    mirs = [s[5:27] for s in demo_small.sequences[300:340]]
    (d / "mirnas.fa").write_text("".join(f">m{i}\n{s}\n" for i, s in enumerate(mirs)))
    (d / "mature.fa").write_text(">hsa-miR-451a MIMAT0001631\nAAACCGUUACCAUUACUGAGUU\n")
    # a one-label target fine-tuned from the five-label source
    t = "id,sequence,bound\n" + "".join(f"t{i},{s},{i % 2}\n" for i, s in enumerate(mirs))
    (d / "target.csv").write_text(t)
    r = invoke("train", d / "target.csv", "--out", d / "tgt", "--recipe", d / "tiny.yaml", "--init", d / "src",
               "--no-progress")
    assert r.exit_code == 0, r.output
    r = invoke("index", d / "tgt", d / "sites.parquet", "--null", d / "mirnas.fa", "--out", d / "idx",
               "--shuffles", "3", "--no-progress")
    assert r.exit_code == 0, r.output
    return d


def test_transfer_is_recorded(work):
    card = json.loads((work / "tgt" / "card.json").read_text())
    assert card["training"]["init_skipped"] == ["head.4.bias", "head.4.weight"]
    assert card["training"]["init_from"]["path"].endswith("src")
    assert card["kind"] == "embedding"


def test_index_and_rank(work):
    card = json.loads((work / "idx" / "card.json").read_text())
    assert {"index.faiss", "index.meta", "index.site_ids", "index.null", "index.center"} <= set(card["artifacts"])
    assert not (work / ".idx.checkpoint").exists()  # the embedding checkpoint goes once the index is written
    r = invoke("rank", work / "idx", work / "mirnas.fa", "--top", "2", "--out", work / "r.tsv")
    assert r.exit_code == 0, r.output
    lines = (work / "r.tsv").read_text().splitlines()
    assert len(lines) == 1 + 40 * 2 and lines[1].split("\t")[:2] == ["m0", "1"]
    r = invoke("rank", work / "idx", "hsa-miR-451", "--mirbase", work / "mature.fa")
    assert r.exit_code == 0, r.output
    assert "hsa-miR-451a" in r.output


def test_rank_warns_when_a_name_takes_both_arms(work, tmp_path):
    fa = tmp_path / "mature.fa"
    fa.write_text(">hsa-let-7d-5p MIMAT2\nAGAGGUAGUAGGUUGCAUAGUU\n>hsa-let-7d-3p MIMAT3\nCUAUACGACCUGCUGCCUUUCU\n")
    r = invoke("rank", work / "idx", "let-7d", "--mirbase", fa, "--top", "1")
    assert r.exit_code == 0, r.output
    assert "warning: 'let-7d' matches 2 miRNAs (both arms)" in " ".join(r.output.split())
    assert "hsa-let-7d-5p" in r.output and "hsa-let-7d-3p" in r.output


@pytest.mark.parametrize("args, message", [
    (["idx", "hsa-miR-0"], "no miRNA called"),
    (["idx", "missing.fa"], "file not found"),
    (["tgt", "mirnas.fa"], "no similarity index"),
    (["idx", "mirnas.fa", "--top", "0"], "top must be"),
])
def test_rank_errors(work, args, message):
    args = [work / a if (work / a).exists() else a for a in args]
    r = invoke("rank", *args, "--mirbase", work / "mature.fa")
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output


def test_index_errors(work, tmp_path):
    r = invoke("index", work / "tgt", work / "sites.parquet", "--null", work / "mirnas.fa", "--out", work / "idx")
    assert r.exit_code == 2 and "already holds files" in r.output  # nothing replaced without --overwrite
    r = invoke("index", work / "src", work / "sites.parquet", "--null", work / "nothere.fa", "--out", tmp_path / "x")
    assert r.exit_code == 2 and "not found" in r.output and not (tmp_path / "x").exists()
    r = invoke("train", work / "target.csv", "--out", tmp_path / "y", "--init", tmp_path / "none")
    assert r.exit_code == 2 and not (tmp_path / "y").exists()


def test_index_refuses_a_degenerate_null_and_leaves_no_checkpoint(work, tmp_path, monkeypatch):
    """A null set of 1-nt sequences has (almost) no distinct shuffles: refused before any work (it gave z ~ 1e5);
    a build that fails before any site is embedded leaves no .OUT.checkpoint behind."""
    import rnalabel.engine.similarity as sim
    from rnalabel.errors import InputError

    (tmp_path / "one.fa").write_text("".join(f">n{i}\n{'ACGU'[i % 4]}\n" for i in range(40)))
    r = invoke("index", work / "tgt", work / "sites.parquet", "--null", tmp_path / "one.fa", "--out", tmp_path / "a",
               "--no-progress")
    assert r.exit_code == 2 and "distinct sequence" in r.output and "--null" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.fa"]
    calls = []
    real = sim._embed

    def failing(bundle, ds, **kw):  # the null controls embed, the first chunk of sites fails
        calls.append(len(ds))
        if len(calls) > 1:
            raise InputError("refused")
        return real(bundle, ds, **kw)

    monkeypatch.setattr(sim, "_embed", failing)
    r = invoke("index", work / "tgt", work / "sites.parquet", "--null", work / "mirnas.fa", "--out", tmp_path / "b",
               "--no-progress")
    assert r.exit_code == 2 and "refused" in r.output and len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.fa"]


def test_proteins_train_similar_and_zero_shot(work, tmp_path):
    fa = work / "prot.fa"
    seqs = {"PUM2": "MNHDFQALALESRGMGELLPTKKFWEPDDSTKDGQKGIFLGDDEWRETAWGASHHSMSQPIMVQRRSGQGFHGNSEVNAILSPRSESGGLGVSMVEY",
            "QKI": "MVGEMETKEKPKPTPDYLMQLMNDKKLMSSLPNFCGIFNHLERLLDEEISRVRKDMYNDTLNGSTEKRSAELPDAVGPIVQLQEKLYVPVKEYPDFN",
            "MBNL1": "MAVSVTPIRDTKWLTLEVCREFQRGTCSRPDTECKFAHPSKSCQVENGRVIACFDSLKGRCSRENCKYLHPPPHLKTQLEINGRNNLIQQKNMAMLAQQ",
            "ELAVL1": "MSNGYEDHMAEDCRGDIGRTNLIVNYLPQNMTQDELRSLFSSIGEVESAKLIRDKVAGHSLGYGFVNYVTAKDAERAINTLNGLRLQSKTIKVSYARPS"}
    fa.write_text("".join(f">{k}\n{v}\n" for k, v in seqs.items()))
    r = invoke("proteins", "train", work / "idx", "--fasta", fa, "--out", tmp_path / "p", "--epochs", "5")
    assert r.exit_code == 0, r.output
    assert "SRSF1" in r.output  # no profile: said, not silently dropped
    new = tmp_path / "new.fa"
    new.write_text(">YBX1\nMSSEAETQQPPAAPPAAPALSAADTKPGTTGSGAGSGGPGGLTSAAPAGGDKKVIATKVLGTVKWFNVRNGYGFINRNDTKEDVFVHQ\n")
    r = invoke("proteins", "similar", tmp_path / "p", "--fasta", new, "--out", tmp_path / "s.tsv")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.tsv").read_text().splitlines()[0].split("\t") == ["protein", "ELAVL1", "MBNL1", "PUM2",
                                                                           "QKI", "YBX1"]
    r = invoke("rank", tmp_path / "p", work / "mirnas.fa", "--new-proteins", new, "--top", "10", "--out",
               tmp_path / "r.tsv")
    assert r.exit_code == 0, r.output
    rows = [ln.split("\t") for ln in (tmp_path / "r.tsv").read_text().splitlines()[1:]]
    ybx = [x for x in rows if x[2] == "YBX1"]
    assert len(ybx) == 40 and all(x[5].startswith("zero-shot via ") for x in ybx)
    r = invoke("rank", work / "idx", work / "mirnas.fa", "--new-proteins", new)
    assert r.exit_code == 2 and "no protein encoder" in r.output
    r = invoke("proteins", "train", work / "idx", "--out", tmp_path / "q")
    assert r.exit_code == 2 and "profile" in r.output and not (tmp_path / "q").exists()


def test_protein_input_errors(work, tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">X\nMKV1L\n")
    r = invoke("proteins", "similar", work / "idx", "--fasta", bad, "--out", tmp_path / "s.tsv")
    assert r.exit_code == 2 and "bad.fa" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "s.tsv").exists()
    pssm = tmp_path / "p.pssm"
    pssm.write_text("\nLast position-specific scoring matrix computed\n            "
                    + "   ".join("ARNDCQEGHILKMFPSTWYV") + "\n"
                    + "".join(f"{i + 1:5d} M   " + " ".join(["0"] * 40) + "  0.1 0.1\n" for i in range(5)))
    (tmp_path / "c.txt").write_text("1 0 0\n0 1 0\n0 0 1\n")
    r = invoke("rank", work / "idx", work / "mirnas.fa", "--pssm", pssm, "--contacts", tmp_path / "c.txt")
    assert r.exit_code == 2 and "5 residues but the contact map" in r.output
    import gemmi

    st = gemmi.Structure()
    st.add_model(gemmi.Model("1"))
    ch = gemmi.Chain("A")
    for i in range(5):
        res = gemmi.Residue()
        res.name, res.seqid = "ALA", gemmi.SeqId(i + 1, " ")
        for an, dx in (("CA", 0.0), ("CB", 1.0)):
            a = gemmi.Atom()
            a.name, a.element, a.pos = an, gemmi.Element("C"), gemmi.Position(3.8 * i + dx, 0, 0)
            res.add_atom(a)
        ch.add_residue(res)
    st[0].add_chain(ch)
    st.setup_entities()
    st.write_pdb(str(tmp_path / "s.pdb"))
    for cmd in (["rank", work / "idx", work / "mirnas.fa"], ["proteins", "similar", work / "idx"]):
        r = invoke(*cmd, "--structure", tmp_path / "s.pdb", "--chain", "Z")  # the option the message names exists
        assert r.exit_code == 2 and "no protein chain Z" in r.output and "--chain" in r.output, r.output
