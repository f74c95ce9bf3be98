"""Training from a Parquet file without reading it into memory (rnalabel.data.stream, rnalabel.engine.streaming)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from rnalabel.data import Dataset
from rnalabel.data.stream import ParquetStream
from rnalabel.engine.streaming import StreamUnits
from rnalabel.engine.training import fit
from rnalabel.errors import InputError
from tests.helpers import tiny_deepmirbp_recipe, tiny_recipe


@pytest.fixture(scope="module")
def table(tmp_path_factory, monkeypatch_module):
    """1,500 demo rows in row groups of 200 (the real default is 65,536)."""
    import rnalabel.data.dataset as D
    from rnalabel.data.synthetic import make_demo_dataset

    monkeypatch_module.setattr(D, "ROW_GROUP_ROWS", 200)
    ds = make_demo_dataset(1500, seed=4)
    path = tmp_path_factory.mktemp("stream") / "demo.parquet"
    ds.to_parquet(path)
    return ds, path


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_stream_reads_what_memory_holds(table):
    ds, path = table
    st = ParquetStream(path)
    assert len(st) == 1500 and st.n_groups == 8
    sk = st.skeleton()
    np.testing.assert_array_equal(sk.lengths, ds.lengths)
    np.testing.assert_array_equal(np.nan_to_num(sk.labels, nan=-1), np.nan_to_num(ds.labels, nan=-1))
    assert list(sk.split) == list(ds.split) and sk.tokens.shape == (1500, 1)
    rows = np.array([3, 199, 200, 1499, 640])
    part = st.read_rows(rows)
    assert list(part.ids) == [ds.ids[i] for i in sorted(rows)]
    assert part.sequences == [ds.sequences[i] for i in sorted(rows)]


@pytest.mark.parametrize("workers", [0, 2])
def test_every_training_row_once_per_epoch_in_len_batches(table, workers):
    from rnalabel.views.base import views_from_specs

    ds, path = table
    st = ParquetStream(path)
    mask = np.asarray(ds.split == "train")
    units = StreamUnits(st, mask, views_from_specs({"seq": {"type": "onehot"}}), kind="windowed", window=101,
                        stride=50, batch_size=64, short_copies=0.25, seed=1, buffer_rows=300, workers=workers,
                        lengths=ds.lengths)
    loader = torch.utils.data.DataLoader(units, batch_size=None, num_workers=workers)
    n_train = int(mask.sum())
    assert n_train < units.n_units <= n_train + 0.25 * n_train + st.n_groups  # copies drawn per row group
    firsts = []
    for epoch in (0, 1):
        units.set_epoch(epoch)
        batches = list(loader)
        assert len(batches) == len(units)  # Lightning's epoch length is exact
        y = torch.cat([b[1] for b in batches]).numpy()
        assert len(y) == units.n_units
        # labels of the real rows come back exactly once (copies add only 0 or unknown)
        assert int(np.nansum(y)) == int(np.nansum(ds.labels[mask]))
        assert sum(len(b[1]) != 64 for b in batches) <= max(workers, 1)  # one partial batch per worker
        firsts.append(batches[0][0]["seq"].numpy())
    assert not np.array_equal(firsts[0], firsts[1])  # another order each epoch


@pytest.mark.parametrize("workers", [0, 2])
def test_ddp_processes_read_their_own_rows_in_equal_batch_counts(table, workers, monkeypatch):
    """With DDP the training rows are dealt to the processes in turn and all run the same number of batches (the
    smallest process's: a process with more stops early)."""
    from rnalabel.views.base import views_from_specs

    ds, path = table
    st = ParquetStream(path)
    mask = np.asarray(ds.split == "train")
    views = views_from_specs({"seq": {"type": "onehot"}})
    kw = dict(kind="windowed", window=101, stride=50, batch_size=16, short_copies=0.25, seed=1, buffer_rows=300,
              workers=workers, lengths=ds.lengths)
    one = StreamUnits(st, mask, views, **kw)
    ranks = []
    for r in range(3):
        u = StreamUnits(st, mask, views, **kw)
        u.set_rank(r, 3)
        ranks.append(u)
    assert len({len(u) for u in ranks}) == 1 and 0 < len(ranks[0]) <= len(one) // 3 + 1
    assert {u.n_units for u in ranks} == {ranks[0].n_units}  # the epoch's units over all processes
    assert abs(ranks[0].n_units - one.n_units) <= 3 * len(one.pieces)  # copies are rounded per piece and rank
    seen: dict[int, list[np.ndarray]] = {0: [], 1: [], 2: []}
    real = StreamUnits._chunk

    def spy(self, i, part):
        seen[self.rank].append(st.group_starts[self.pieces[i][0]] + self.pieces[i][1] + self._mine(i, self.rank, 3))
        return real(self, i, part)

    monkeypatch.setattr(StreamUnits, "_chunk", spy)
    got = 0
    for u in ranks:
        u.set_epoch(1)
        batches = list(torch.utils.data.DataLoader(u, batch_size=None, num_workers=workers))
        assert len(batches) == len(u)  # every process steps as many times
        got += sum(len(b[1]) for b in batches)
    if not workers:  # (the spy sees the main process only)
        rows = [np.concatenate(seen[r]) for r in range(3)]
        assert sum(len(x) for x in rows) == int(mask.sum())  # every training row read by one process only
        np.testing.assert_array_equal(np.sort(np.concatenate(rows)), np.flatnonzero(mask))
    assert got >= ranks[0].n_units - 3 * 16 * max(workers, 1) * 2  # the early stops drop a few batches at most
    with pytest.raises(ValueError, match="rank 3 outside"):
        ranks[0].set_rank(3, 3)
    ranks[0].set_rank(0, int(mask.sum()) // 2 + 1)  # fewer than two rows a process: no batch (fit refuses)
    assert len(ranks[0]) == 0


def test_ddp_ranks_stay_even_over_many_small_pieces(tmp_path, monkeypatch):
    """Row groups of a few rows (files from other writers): the rows are dealt on across pieces, so no process is
    always first to get a piece's odd rows and the early stops drop next to nothing."""
    import rnalabel.data.dataset as D
    from rnalabel.data.synthetic import make_demo_dataset
    from rnalabel.views.base import views_from_specs

    monkeypatch.setattr(D, "ROW_GROUP_ROWS", 7)
    ds = make_demo_dataset(1400, seed=8)
    ds.to_parquet(tmp_path / "small.parquet")
    st = ParquetStream(tmp_path / "small.parquet")
    assert st.n_groups == 200
    mask = np.asarray(ds.split == "train")
    counts, lens = [], set()
    for r in range(4):
        u = StreamUnits(st, mask, views_from_specs({"seq": {"type": "onehot"}}), kind="windowed", window=101,
                        stride=50, batch_size=8, short_copies=0.25, seed=0, workers=2, lengths=ds.lengths)
        u.set_rank(r, 4)
        counts.append(sum(u._batches(x) for x in u.share_units))
        lens.add(len(u))
    assert lens == {min(counts)}
    assert max(counts) - min(counts) <= 2, counts  # 32 each here; striding from each piece's first row: 42 to 22


def test_streamed_training_matches_training_in_memory(table):
    ds, path = table
    rec = replace(tiny_recipe(), train=replace(tiny_recipe().train, max_epochs=6, patience=6, batch_size=32, lr=3e-3,
                                               precision="32", short_copies=0.25))
    m_mem, r_mem = fit(rec, ds, progress=False, device="cpu")
    m_st, r_st = fit(rec, ParquetStream(path), progress=False, device="cpu", shuffle_buffer=400)
    assert list(r_st.split) == list(r_mem.split)  # the same split
    assert (r_st.n_train, r_st.n_val, r_st.n_test) == (r_mem.n_train, r_mem.n_val, r_mem.n_test)
    # shortened copies: the same share, drawn per row group (rounding per group)
    assert abs(m_st.card["training"]["short_copies"] - m_mem.card["training"]["short_copies"]) <= 8
    info = m_st.card["training"]["streamed"]
    assert info["file"] == "demo.parquet" and len(info["file_sha256"]) == 64
    a, b = r_mem.test.averages["auroc_macro"], r_st.test.averages["auroc_macro"]
    assert a > 0.65 and b > 0.65 and abs(a - b) < 0.08, (a, b)  # both learn, equally (0.727 vs 0.749 here)
    np.testing.assert_array_equal(np.nan_to_num(r_st.outputs["test"][0], nan=-1),
                                  np.nan_to_num(r_mem.outputs["test"][0], nan=-1))


def test_streamed_embedding_model_with_workers(table):
    """DeepMiRBP (the embedding kind, the 18 M-site case) streams, with two loader workers."""
    ds, path = table
    rec = tiny_deepmirbp_recipe(num_workers=2, precision="32")
    model, report = fit(rec, ParquetStream(path), progress=False, device="cpu")
    assert model.kind == "embedding" and len(report.history) == 1 and np.isfinite(report.history[0]["train_loss"])


def test_stream_refusals(table, tmp_path):
    from rnalabel.runs import checkpoint_dir, train_run

    ds, path = table
    with pytest.raises(InputError, match="stated number of processes"):
        fit(tiny_recipe(), ParquetStream(path), progress=False, devices="auto")

    (tmp_path / "x.tsv").write_text("id\tsequence\tA\nr1\tACGU\t1\n")
    with pytest.raises(InputError, match="Parquet"):
        train_run(tmp_path / "x.tsv", tiny_recipe(), tmp_path / "run", stream=True, progress=False)
    with pytest.raises(InputError, match="not a readable Parquet"):
        (tmp_path / "bad.parquet").write_text("not parquet")
        ParquetStream(tmp_path / "bad.parquet")
    # a checkpoint of a streamed training is refused for another file
    rec = replace(tiny_recipe(filters=4, hidden=8), train=replace(tiny_recipe().train, max_epochs=1))
    fit(rec, ParquetStream(path), progress=False, checkpoint=checkpoint_dir(tmp_path / "r"))
    other = tmp_path / "other.parquet"
    Dataset.concat([ds.subset(np.arange(1400)), ds.subset(np.arange(1400, 1500))]).with_split(
        np.where(ds.split == "test", "train", ds.split)).to_parquet(other)
    with pytest.raises(InputError, match="another recipe, other data"):
        fit(rec, ParquetStream(other), progress=False, checkpoint=checkpoint_dir(tmp_path / "r"), resume=True)


def test_big_row_groups_are_read_in_slices(tmp_path, monkeypatch):
    """Files written before row groups were bounded (pyarrow's default: a million rows) are featurised a slice
    of ROW_GROUP_ROWS rows at a time."""
    import pyarrow.parquet as pq

    import rnalabel.data.dataset as D
    import rnalabel.engine.streaming as S
    from rnalabel.data.synthetic import make_demo_dataset
    from rnalabel.views.base import views_from_specs

    ds = make_demo_dataset(900, seed=6)
    ds.to_parquet(tmp_path / "x.parquet")
    pq.write_table(pq.read_table(tmp_path / "x.parquet"), tmp_path / "one.parquet", row_group_size=1_000_000)
    assert pq.ParquetFile(tmp_path / "one.parquet").metadata.num_row_groups == 1
    monkeypatch.setattr(D, "ROW_GROUP_ROWS", 200)
    monkeypatch.setattr(S, "ROW_GROUP_ROWS", 200)
    st = ParquetStream(tmp_path / "one.parquet")
    mask = np.asarray(ds.split == "train")
    units = StreamUnits(st, mask, views_from_specs({"seq": {"type": "onehot"}}), kind="windowed", window=101,
                        stride=50, batch_size=32, seed=0, buffer_rows=64)
    assert len(units.pieces) == 5 and max(hi - lo for _, lo, hi in units.pieces) == 200
    seen = []
    real = StreamUnits._chunk

    def spy(self, i, part):
        seen.append(len(part))
        return real(self, i, part)

    monkeypatch.setattr(StreamUnits, "_chunk", spy)
    batches = list(units)
    assert max(seen) <= 200 and sum(seen) == 900 and len(batches) == len(units)
    assert sum(len(b[1]) for b in batches) == int(mask.sum())
