"""Embarrassingly parallel work on a Dask cluster (the optional extra ``rnalabel[cluster]``).

* :func:`client`: a Dask client, on a local cluster of worker processes or on an existing scheduler.
* :func:`predict_parallel`: :func:`rnalabel.runs.predict_run` split into shards (records i, i + n, ...), one task
  per shard, merged back into the file a serial run writes, byte for byte.
* :func:`fold_parallel`: fills the on-disk fold cache of the structure views (ViennaRNA) for every sequence of a
  dataset, so that training finds every fold cached.

Why Dask (``distributed``): pure pip wheels and no daemon; a ``LocalCluster`` on a laptop, and on a cluster
dask-jobqueue (``SLURMCluster``, ``PBSCluster``) or ``dask scheduler`` / ``dask worker``, all reached through one
scheduler address. Workers read the input and write their parts themselves, so they must see the caller's files:
the same machine, or a shared filesystem (paths are made absolute before they are sent). Dask is imported only
inside these functions.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnalabel.errors import ConfigError, InputError, RnalabelError

if TYPE_CHECKING:
    from distributed import Client

    from rnalabel.engine.recipe import Recipe
    from rnalabel.runs import PredictSummary
    from rnalabel.views.base import View

#: how to get the optional dependency
INSTALL = "pip install 'rnalabel[cluster]'"
#: seconds to wait for a first worker of a scheduler that has none yet (a cluster that is scaling up)
WORKER_WAIT_S = 120


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigError("running on a Dask cluster needs dask.distributed, which is not installed.",
                          remedy=INSTALL + ".") from None
    return distributed


def _whole(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be a whole number of at least 1, got {value!r}.")
    return value


@contextmanager
def client(workers: int | None = None, scheduler: str | os.PathLike | None = None) -> Iterator[Client]:
    """A Dask client: on an existing cluster, or on a local cluster started here and closed afterwards.

    Parameters
    ----------
    workers : int, optional
        Start a ``LocalCluster`` of this many worker processes, one thread each. Default is None (Dask's default:
        one per CPU) when no ``scheduler`` is given.
    scheduler : str or PathLike, optional
        Connect to this scheduler: an address (``tcp://host:8786``) or a scheduler file (``dask scheduler
        --scheduler-file``, dask-jobqueue). Not together with ``workers``. Default is None.

    Yields
    ------
    distributed.Client
    """
    workers = _whole(workers, "workers")
    if workers is not None and scheduler is not None:
        raise InputError("give workers (a local cluster) or a scheduler (an existing cluster), not both.")
    distributed = _distributed()
    if scheduler is not None:
        address = str(scheduler)
        kw = {"scheduler_file": address} if Path(address).is_file() else {"address": address}
        try:
            c = distributed.Client(**kw)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach the Dask scheduler {address} ({exc}).",
                             remedy="check the address (e.g. tcp://host:8786) or the scheduler file, and that "
                                    "`dask scheduler` runs there.") from None
        with c:
            yield c
        return
    # silence_logs: a task's error comes back here (and the CLI prints it in one line); the workers' log of it
    # would print its traceback on the same terminal first
    with (distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.CRITICAL) as cluster,
          distributed.Client(cluster) as c):
        yield c


def _slots(c: Client) -> int:
    """Tasks the cluster runs at once (worker threads), waiting for a first worker when there is none yet."""
    n = sum(c.nthreads().values())
    if n == 0:
        try:
            c.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError:
            raise InputError(f"the Dask cluster has had no worker for {WORKER_WAIT_S} s.",
                             remedy="start workers (dask worker ADDRESS, or scale the dask-jobqueue cluster).") from None
        n = sum(c.nthreads().values())
    return max(1, n)


def _gather(c: Client, futures: list, given: Mapping[str, str]) -> list:
    """Results of ``futures`` in order; the first failure cancels the others and is raised as the worker raised
    it (a package error keeps its class and message, with the caller's spelling of the paths in it)."""
    distributed = _distributed()
    results: list = [None] * len(futures)
    index = {f.key: i for i, f in enumerate(futures)}
    try:
        for fut in distributed.as_completed(futures):
            try:
                results[index[fut.key]] = fut.result()
            except RnalabelError as exc:
                if exc.path in given:
                    raise type(exc)(exc.message, path=given[exc.path], line=exc.line, remedy=exc.remedy) from None
                raise
            except distributed.KilledWorker as exc:
                raise InputError(f"a Dask worker died while running {fut.key} ({exc}); out of memory?",
                                 remedy="lower --chunk or --batch-size, or give each worker more memory.") from None
    except BaseException:
        c.cancel(futures)
        raise
    return results


# prediction -----------------------------------------------------------------------------------------------------
def _predict_shard(parts: str, shard: tuple[int, int], model_dir: str, data: str, windows: bool,
                   options: dict[str, Any]) -> tuple[PredictSummary | None, list[tuple[type[Warning], str]]]:
    """One task: ``predict_run`` of one shard into ``parts``; (None, ...) for a shard without records. The
    package's warnings come back to be raised again by the caller."""
    from rnalabel.io import iter_input
    from rnalabel.runs import predict_run

    folder = Path(parts)
    if not folder.is_dir():  # the call was given up (another shard failed) before this task started
        return None, []
    out = folder / f"part-{shard[0]}.tsv"
    windows_out = folder / f"part-{shard[0]}.windows.tsv" if windows else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            summary = predict_run(model_dir, data, out, windows_out=windows_out, progress=False, shard=shard,
                                  **options)
        except InputError as exc:  # more shards than records: this one is empty, which is no error here
            if not exc.message.startswith("no sequence to predict") or next(
                    iter(iter_input(data, chunk=1, shard=shard)), None) is not None:
                raise
            summary = None
    ours = [(w.category, str(w.message)) for w in caught if w.category.__module__.startswith("rnalabel")]
    return summary, ours


def _groups(lines: Iterable[bytes], key) -> Iterator[bytes]:
    return (b"".join(g) for _, g in itertools.groupby(lines, key=key))


def _round_robin(streams: Sequence[Iterator[bytes]]) -> Iterator[bytes]:
    """Record k of the input is item k // n of shard k % n: take one item of each shard in turn. Shards hold
    no more records than the ones before them, so once one runs out every one has."""
    while True:
        for s in streams:
            item = next(s, None)
            if item is None:
                if any(next(t, None) is not None for t in streams):
                    raise RuntimeError("shard outputs are out of step (a bug in rnalabel.cluster)")
                return
            yield item


def _merge(paths: Sequence[Path], dest: Path, *, windows: bool, target: str | os.PathLike | None = None) -> int:
    """Merge shard TSVs into ``dest`` in input order (gzip-compressed when ``target``, the output's name, ends with
    .gz); returns the number of records merged."""
    from rnalabel.data.files import open_output

    with ExitStack() as stack:
        files = [stack.enter_context(open(p, "rb")) for p in paths]
        heads = [f.readline() for f in files]
        if len(set(heads)) != 1:
            raise RuntimeError(f"shard outputs have different headers: {sorted(set(heads))}")
        if windows:  # the rows of one record are consecutive and start with its id (which may hold a tab)
            extra = heads[0].count(b"\t")
            streams = [_groups(f, lambda line, k=extra: line.rsplit(b"\t", k)[0]) for f in files]
        else:  # one line per record
            streams = [iter(f) for f in files]
        n = 0
        with open_output(dest, target or dest, "wb") as fo:
            fo.write(heads[0])
            for item in _round_robin(streams):
                fo.write(item)
                n += 1
    return n


def predict_parallel(
    model_dir: str | os.PathLike,
    data_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    windows_out: str | os.PathLike | None = None,
    shards: int | None = None,
    workers: int | None = None,
    scheduler: str | os.PathLike | None = None,
    batch_size: int = 512,
    device: str | None = None,
    precision: str = "auto",
    chunk: int = 10_000,
) -> PredictSummary:
    """:func:`rnalabel.runs.predict_run` on a Dask cluster: the same files, byte for byte, written all or none.

    The input is split into ``shards`` (shard i: records i, i + n, ...), each predicted by one task into a private
    temporary folder beside ``out``; the parts are then merged in input order (per-sequence rows round robin,
    per-window rows grouped by record) into ``out`` (and ``windows_out``). Temporary files are removed whatever
    happens; a worker's package error (:class:`~rnalabel.errors.InputError` ...) is raised here as it was there.
    The workers must see ``model_dir``, ``data_path`` and the folder of ``out`` (one machine or a shared
    filesystem). Each shard is predicted in batches of its own records, so the numbers equal the serial ones as
    long as the arithmetic of one record does not depend on which records share its batch (true of the CPU fp32
    runs checked in the tests; a backend whose kernels change with the batch size could change last digits).

    Parameters
    ----------
    model_dir : path
    data_path : path
        FASTA (plain or .gz), CSV/TSV table or Parquet, as for :func:`rnalabel.runs.predict_run`.
    out : path
        Per-sequence TSV.
    windows_out : path, optional
        Per-window TSV (windowed models). Default is None.
    shards : int, optional
        Tasks. Default is None (the cluster's worker threads).
    workers, scheduler
        Where to run (see :func:`client`). Defaults are None (a local cluster, one worker per CPU).
    batch_size, device, precision, chunk
        As for :func:`rnalabel.runs.predict_run`. Defaults are 512, None (CUDA when present, else CPU), "auto",
        10,000.

    Returns
    -------
    PredictSummary
        Summed over the shards.
    """
    from rnalabel.data.files import atomic_paths, writes_through
    from rnalabel.runs import PredictSummary

    shards = _whole(shards, "shards")
    workers = _whole(workers, "workers")
    data = Path(data_path)
    if not data.exists():
        raise InputError("file not found.", path=data, remedy="check the path.")
    given = {str(Path(p).resolve()): str(p) for p in (model_dir, data_path)}
    options = {"batch_size": batch_size, "device": device, "precision": precision, "chunk": chunk}
    with atomic_paths(out, windows_out, inputs=(data,)) as (out_tmp, windows_tmp):
        # beside the output (where the workers see it), or in the temporary folder when the output is a stream
        parts = Path(tempfile.mkdtemp(prefix=f".{Path(out).name}.", suffix=".parts",
                                      dir=None if writes_through(out) else out_tmp.parent))
        try:
            with client(workers, scheduler) as c:
                n = shards or _slots(c)
                token = uuid.uuid4().hex[:12]
                futures = [c.submit(_predict_shard, str(parts), (i, n), str(Path(model_dir).resolve()),
                                    str(data.resolve()), windows_out is not None, options,
                                    key=f"rnalabel-predict-{token}-{i}", pure=False) for i in range(n)]
                results = _gather(c, futures, given)
            done = [r[0] for r in results]
            filled = [s for s in done if s is not None]
            if not filled:
                raise InputError("no sequence to predict.", path=data_path)
            if any(s is None for s in done[:len(filled)]):
                raise RuntimeError("an empty shard before a full one (a bug in rnalabel.cluster)")
            summary = PredictSummary(filled[0].kind, sum(s.n_sequences for s in filled),
                                     sum(s.n_windows for s in filled), filled[0].dims)
            count = _merge([parts / f"part-{i}.tsv" for i in range(len(filled))], out_tmp, windows=False,
                           target=out)
            if windows_tmp is not None:
                _merge([parts / f"part-{i}.windows.tsv" for i in range(len(filled))], windows_tmp, windows=True,
                       target=windows_out)
            if count != summary.n_sequences:
                raise RuntimeError(f"merged {count} rows of {summary.n_sequences} (a bug in rnalabel.cluster)")
        finally:
            shutil.rmtree(parts, ignore_errors=True)
    seen = set()
    for _, messages in results:
        for category, message in messages:
            if (category, message) not in seen:
                seen.add((category, message))
                warnings.warn(message, category, stacklevel=2)
    return summary


# folding --------------------------------------------------------------------------------------------------------
@dataclass
class FoldSummary:
    """What :func:`fold_parallel` did.

    Attributes
    ----------
    sequences : int
        Records read.
    folded : int
        Folds computed now, summed over the views (each distinct unit sequence of a shard once).
    cached : int
        Folds that were in the cache already.
    views : tuple of str
        The views folded: names (with the type when it differs).
    cache : Path
        The cache root filled.
    """

    sequences: int
    folded: int
    cached: int
    views: tuple[str, ...]
    cache: Path


def _as_views(views: Any) -> dict[str, View]:
    """View names, specs (``{"type": ..., params}``), ``{name: spec}`` mappings or View objects -> {name: view}."""
    from rnalabel.views.base import View, build_view

    items = [views] if isinstance(views, str | Mapping | View) else list(views)
    out: dict[str, View] = {}
    for item in items:
        if isinstance(item, View):
            named = {item.type: item}
        elif isinstance(item, str):
            named = {item: build_view({"type": item})}
        elif isinstance(item, Mapping) and "type" in item:
            named = {str(item["type"]): build_view(dict(item))}
        elif isinstance(item, Mapping):
            named = {str(k): v if isinstance(v, View) else build_view(dict(v)) for k, v in item.items()}
        else:
            raise ConfigError(f"{item!r} is not a view (a name, a spec with a type, or a View).")
        for name, view in named.items():
            if name in out:
                name = f"{name}{len(out)}"
            out[name] = view
    return out


def _fold_shard(data: str, shard: tuple[int, int] | None, views: Mapping[str, View], kind: str,
                window: int | None, stride: int | None, chunk: int, cache_dir: str,
                processes: int | None) -> tuple[int, int, int]:
    """One task: fill the cache with every view's folds of the units of one shard; (records, folded, cached)."""
    from rnalabel.engine.inputs import make_units
    from rnalabel.io import iter_input
    from rnalabel.views.structure import fill_cache, folded_sequences

    records = folded = cached = 0
    for part in iter_input(data, chunk=chunk, shard=shard):
        units = part if window is None else make_units(part, kind=kind, window=window, stride=stride).dataset
        seqs = folded_sequences(units.tokens, units.lengths)
        for view in views.values():
            fill = fill_cache(seqs, view.folding(), processes=processes, cache_dir=cache_dir)
            folded += fill.folded
            cached += fill.cached
        records += len(part)
    return records, folded, cached


def fold_parallel(
    data_path: str | os.PathLike,
    *,
    views: Any = None,
    recipe: Recipe | str | None = None,
    window: int | None = None,
    stride: int | None = None,
    workers: int | None = None,
    scheduler: str | os.PathLike | None = None,
    shard: tuple[int, int] | None = None,
    chunk: int = 10_000,
) -> FoldSummary:
    """Fill the on-disk fold cache (``$RNALABEL_CACHE``, else ``~/.cache/rnalabel``) of the folding views for
    every sequence of a dataset, so that training (and prediction) with these views finds every fold cached.

    The cache is keyed by content: the exact string folded (a unit's real sequence), ViennaRNA's version and every
    parameter of the view that changes the fold (structure: window, span, temperature; pairing: temperature,
    max_span), so the views must be given as training will use them: ``recipe`` takes them (and ``window`` /
    ``stride``) from the recipe. Units are what the model sees: whole sequences when no ``window`` is given (the
    case of training with the recipe's window unset, where the window is the longest training sequence), else the
    windows ``rnalabel train --window --stride`` cuts. Training's shortened copies (``short_copies``) are drawn
    at random when it runs and are folded then.

    Without ``workers`` and ``scheduler`` the folds are computed in this process's pool (every CPU), so that
    ``shard=(i, n)`` lets the n jobs of a SLURM array split the work without Dask; with either, one task per
    worker thread folds its part of the records (``shard`` applies first). Workers write to this process's cache
    root, which they must see (one machine, or a shared filesystem). A sequence that occurs in several shards may
    be folded once in each.

    Parameters
    ----------
    data_path : path
        FASTA, CSV/TSV table or Parquet.
    views : str, mapping, View or sequence of them, optional
        View names (``"structure"``), specs (``{"type": "structure", "profile": "loop"}``), ``{name: spec}``
        mappings (a recipe's ``views:``) or View objects; every one must cache folds. Default is None (the
        structure view with its defaults, unless ``recipe`` is given).
    recipe : Recipe or str, optional
        A recipe (object, built-in name or YAML path): its folding views, window, stride and kind. Not together
        with ``views``. Default is None.
    window, stride : int, optional
        Model input width and scanning stride, as ``rnalabel train --window --stride`` (over the recipe's).
        Default stride is half the window.
    workers, scheduler
        See :func:`client`. Defaults are None (no Dask).
    shard : (int, int), optional
        Only records i, i + n, ... Default is None (all).
    chunk : int
        Records read at a time. Default is 10,000.

    Returns
    -------
    FoldSummary
    """
    from rnalabel.data.files import cache_root
    from rnalabel.engine.recipe import Recipe, load_recipe
    from rnalabel.views.base import views_from_specs

    workers = _whole(workers, "workers")
    window = _whole(window, "window")
    stride = _whole(stride, "stride")
    if shard is not None and not (isinstance(shard, tuple | list) and len(shard) == 2
                                  and all(isinstance(x, int) and not isinstance(x, bool) for x in shard)
                                  and 0 <= shard[0] < shard[1]):
        raise InputError(f"shard {shard!r} is not (i, n) with 0 <= i < n.")
    kind = "windowed"
    if recipe is not None:
        if views is not None:
            raise ConfigError("give views or a recipe, not both.")
        from rnalabel.engine.training import resolve_kind

        rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
        chosen = {n: v for n, v in views_from_specs(rec.views).items() if v.folding() is not None}
        if not chosen:
            raise ConfigError(f"recipe {rec.name!r} has no view whose folds are cached (structure, pairing).",
                              remedy="nothing to fold for it.")
        kind = resolve_kind(rec)
        window = window if window is not None else rec.window
        stride = stride if stride is not None else rec.stride
    else:
        chosen = _as_views("structure" if views is None else views)
        for name, view in chosen.items():
            if view.folding() is None:
                raise ConfigError(f"view {name!r} ({view.type}) keeps no folds in the disk cache.",
                                  remedy="fold structure or pairing views (with cache: true, their default).")
    if window is not None and stride is None:
        stride = max(1, window // 2)
    data = Path(data_path)
    if not data.exists():
        raise InputError("file not found.", path=data, remedy="check the path.")
    root = cache_root().resolve()
    args = (chosen, kind, window, stride, chunk, str(root))
    if workers is None and scheduler is None:
        records, folded, cached = _fold_shard(str(data), shard, *args, None)
    else:
        given = {str(data.resolve()): str(data_path)}
        with client(workers, scheduler) as c:
            n = _slots(c)
            i0, n0 = shard if shard is not None else (0, 1)
            token = uuid.uuid4().hex[:12]
            futures = [c.submit(_fold_shard, str(data.resolve()), (i0 + n0 * j, n0 * n), *args, 1,
                                key=f"rnalabel-fold-{token}-{j}", pure=False) for j in range(n)]
            records, folded, cached = (sum(x) for x in zip(*_gather(c, futures, given), strict=True))
    if records == 0:
        raise InputError("no sequence to fold" + (f" in shard {shard[0]}/{shard[1]}" if shard else "") + ".",
                         path=data_path)
    return FoldSummary(records, folded, cached, tuple(k if k == v.type else f"{k} ({v.type})" for k, v in chosen.items()), root)
