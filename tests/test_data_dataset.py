import numpy as np
import pytest

from rnalabel.data import Dataset, Track, atomic_path, make_windows, split_iterative, window_starts
from rnalabel.errors import InputError, LabelError


def small():
    y = np.array([[1, 0], [0, np.nan], [1, 1], [0, 0]], dtype=np.float32)
    return Dataset.from_sequences(["a", "b", "c", "d"], ["ACGU", "ACGUAC", "GG", "UUUU"], y, ["L1", "L2"])


def test_from_sequences_shapes_and_decode():
    ds = small()
    assert ds.tokens.shape == (4, 6) and ds.tokens.dtype == np.uint8
    assert ds.lengths.tolist() == [4, 6, 2, 4]
    assert ds.sequences == ["ACGU", "ACGUAC", "GG", "UUUU"]
    assert ds.tokens[2, 2:].tolist() == [4, 4, 4, 4]


def test_label_counts_and_cooccurrence():
    ds = small()
    assert ds.label_counts()["L2"] == {"positive": 1, "negative": 2, "unknown": 1}
    assert ds.cooccurrence().tolist() == [[2, 1], [1, 1]]


def test_mismatched_shapes_raise():
    with pytest.raises(LabelError):
        Dataset.from_sequences(["a"], ["ACGU", "AC"])
    with pytest.raises(LabelError):
        Dataset.from_sequences(["a", "b"], ["ACGU", "AC"], np.zeros((2, 3)), ["x"])


def test_label_index_unknown_label():
    with pytest.raises(LabelError, match="unknown label 'X'"):
        small().label_index("X")


def test_parquet_roundtrip_with_track_split_provenance(tmp_path):
    ds = small().with_split(["train", "val", "test", "train"])
    codes = np.full((4, 6), 255, np.uint8)
    for i, n in enumerate(ds.lengths):
        codes[i, :n] = np.arange(n) % 3
    ds.tracks["region"] = Track(codes, ["utr3", "cds", "intron"])
    ds.provenance["source"] = "unit test"
    p = ds.to_parquet(tmp_path / "d.parquet")
    back = Dataset.from_parquet(p)
    assert back.ids.tolist() == ds.ids.tolist()
    assert back.sequences == ds.sequences
    np.testing.assert_array_equal(back.labels, ds.labels)
    assert back.split.tolist() == ds.split.tolist()
    np.testing.assert_array_equal(back.tracks["region"].codes, codes)
    assert back.tracks["region"].categories == ["utr3", "cds", "intron"]
    assert back.provenance["source"] == "unit test"


def test_from_parquet_refuses_foreign_files(tmp_path):
    p = tmp_path / "x.parquet"
    p.write_bytes(b"not parquet")
    with pytest.raises(InputError, match="Parquet"):
        Dataset.from_parquet(p)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_outputs_remove_the_folders_they_made_on_failure(tmp_path):
    from rnalabel.data.files import atomic_dir, atomic_paths

    (tmp_path / "kept").mkdir()
    for make in (lambda: atomic_path(tmp_path / "new" / "deeper" / "out.tsv"),
                 lambda: atomic_dir(tmp_path / "new" / "run"),
                 lambda: atomic_paths(tmp_path / "new" / "a.tsv", tmp_path / "new" / "b" / "c.tsv"),
                 lambda: atomic_path(tmp_path / "kept" / "sub" / "out.tsv")):
        with pytest.raises(RuntimeError):
            with make():
                raise RuntimeError("boom")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
        assert list((tmp_path / "kept").iterdir()) == []
    with atomic_path(tmp_path / "new" / "deeper" / "out.tsv") as tmp:  # success keeps them
        tmp.write_text("x")
    assert (tmp_path / "new" / "deeper" / "out.tsv").read_text() == "x"


def test_atomic_paths_refuse_to_write_over_an_input(tmp_path):
    """An output that is one of the command's inputs (also by another spelling, or through a link), or two outputs
    that are one file, are refused before anything is written; the input is untouched."""
    from rnalabel.data.files import atomic_paths

    data = tmp_path / "mirnas.fa"
    data.write_text(">a\nACGU\n")
    (tmp_path / "link.fa").symlink_to(data)
    for out in (data, tmp_path / "sub" / ".." / "mirnas.fa", tmp_path / "link.fa"):
        with pytest.raises(InputError, match="also an input"):
            atomic_paths(out, inputs=(None, data))
    with pytest.raises(InputError, match="two outputs"):
        atomic_paths(tmp_path / "a.tsv", tmp_path / "a.tsv")
    assert data.read_text() == ">a\nACGU\n" and sorted(p.name for p in tmp_path.iterdir()) == ["link.fa", "mirnas.fa"]
    with atomic_paths(tmp_path / "out.tsv", inputs=(data, object())) as (tmp,):  # a Dataset is not a path
        tmp.write_text("x")


def test_window_starts_cover_the_sequence():
    assert window_starts(50, 101, 50).tolist() == [0]
    assert window_starts(101, 101, 50).tolist() == [0]
    assert window_starts(250, 101, 50).tolist() == [0, 50, 100, 149]


def test_make_windows_scans_long_sequences():
    ds = Dataset.from_sequences(["s", "long"], ["ACG", "ACGUACGUAC"], np.array([[1], [0]]), ["L"])
    w = make_windows(ds, window=4, stride=3)
    assert w.source.tolist() == [0, 1, 1, 1]
    assert w.start.tolist() == [0, 0, 3, 6]
    seqs = w.dataset.sequences
    assert seqs[0] == "ACG" and seqs[1:] == ["ACGU", "UACG", "GUAC"]
    assert w.dataset.tokens.shape == (4, 4)
    assert w.dataset.ids.tolist()[1] == "long:1-4"


def test_make_windows_fast_path_pads():
    ds = small()
    w = make_windows(ds, window=8, stride=4)
    assert w.dataset.tokens.shape == (4, 8)
    assert (w.dataset.tokens[:, 6:] == 4).all()


def test_split_iterative_fractions_and_stratification():
    rng = np.random.default_rng(0)
    n = 1000
    y = (rng.random((n, 4)) < [0.5, 0.2, 0.05, 0.3]).astype(np.float32)
    ds = Dataset.from_sequences([str(i) for i in range(n)], ["ACGU"] * n, y, list("abcd"))
    s = split_iterative(ds, (0.7, 0.1, 0.2), seed=1)
    counts = {k: int(np.sum(s.split == k)) for k in ("train", "val", "test")}
    assert abs(counts["train"] - 700) <= 5 and abs(counts["val"] - 100) <= 5 and abs(counts["test"] - 200) <= 5
    for j in range(4):
        rates = [y[s.split == k, j].mean() for k in ("train", "val", "test")]
        assert max(rates) - min(rates) < 0.03
    again = split_iterative(ds, (0.7, 0.1, 0.2), seed=1)
    assert again.split.tolist() == s.split.tolist()


def test_split_iterative_keeps_existing_test_rows():
    n = 200
    y = (np.arange(n) % 3 == 0).astype(np.float32)[:, None]
    split = ["test" if i < 50 else "train" for i in range(n)]
    ds = Dataset.from_sequences([str(i) for i in range(n)], ["AC"] * n, y, ["a"], split=split)
    s = split_iterative(ds, (0.8, 0.2, 0.0), seed=0, only_unsplit=True)
    assert (s.split[:50] == "test").all()
    assert abs(int(np.sum(s.split == "val")) - 30) <= 2


def test_split_fractions_validated():
    with pytest.raises(InputError):
        split_iterative(small(), (0.5, 0.1, 0.1))


def test_names_from_data_are_safe_file_names():
    from rnalabel.data.files import safe_filename

    assert safe_filename("PUM2_K562") == "PUM2_K562"
    assert safe_filename("..") == "_.." and safe_filename(".hidden") == "_.hidden" and safe_filename("") == "_"
    assert safe_filename("../../etc/passwd") == "_.._.._etc_passwd"
    assert safe_filename("a/b\\c d\u00e9") == "a_b_c_d_"
    assert "/" not in safe_filename("x" * 200) and len(safe_filename("x" * 200)) == 80
