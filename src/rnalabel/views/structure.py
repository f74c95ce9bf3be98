"""RNA secondary-structure views: RNAplfold-style paired/unpaired and CapR-style loop-context profiles.

Multi-resBind (Zhao & Hamada 2022) feeds, beside the nucleotides, a per-position *paired/unpaired* profile from
RNAplfold (its Fig. 5 "PU") or a *loop-context* profile from CapR (stem, hairpin, bulge, internal, multi-branch,
exterior). Both come here from ViennaRNA's Python API (module ``RNA``, imported only when folding):

* ``fold_compound(seq, md, OPTION_WINDOW).probs_window(1, PROBS_WINDOW_UP | PROBS_WINDOW_UP_SPLIT, ...)`` gives,
  for every position, the probability of being unpaired *in an exterior, hairpin, interior or multi loop*,
  computed exactly from the (local) partition function, the same loop decomposition CapR uses. The probability
  of being paired (CapR's "stem") is one minus their sum. Interior loops include bulges (ViennaRNA does not split
  them); the profile is therefore CapR's with bulge and internal merged: 5 classes that sum to 1.
* the paired/unpaired profile is (paired, 1 - paired) of the same computation, so ``pu`` and ``loop`` share one
  cache; :func:`unpaired_probability` is the plain RNAplfold ``-u`` computation (``RNA.pfl_fold_up``) and agrees
  with it to ~1e-15.

Folding parameters (defaults chosen for 101-nt eCLIP and 150-nt PAR-CLIP windows):

``window`` (RNAplfold ``-W``) = 150 and ``span`` (``-L``) = 150. RNAplfold averages over all windows of ``W`` nt
covering a position, with pairs at most ``L`` apart; ViennaRNA shrinks ``W`` and ``L`` to the sequence length, so
any input of up to 150 nt is folded as a whole with unrestricted pairs, i.e. the McCaskill ensemble of exactly the
sequence the model sees (what CapR computes with its span ``W`` >= length) and the likely setting of the paper's
"modified RNAplfold script" on 150-nt inputs. Longer windows fold locally, with Lange et al.'s (2012) observation
that W >= 150, L >= 100 is a sound choice for accessibility in mRNAs. RNAplfold's own defaults (W = L = 70, tuned
for long transcripts) would cut a 101-nt window into partial folds for no gain. ``ulength`` (``-u``) = 1: the
profile is per position. Energies are ViennaRNA's defaults (Turner 2004, dangles 2) at ``temperature`` 37 C.

Folding is done in parallel over sequences (one ViennaRNA call per sequence, chunks of sequences per task) and
cached by content (sequence, every folding parameter, ViennaRNA version) in :class:`~rnalabel.views.cache.ArrayCache`.
Only the real sequence is folded (positions < length; N and other ambiguity codes are folded as N, which pairs
with nothing); padding positions get 0 in every channel. Sequences shorter than 5 nt cannot form a pair (the
smallest hairpin has 3 nt) and are returned as fully unpaired exterior without calling ViennaRNA, whose window
routines crash on them.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from rnalabel.data.sequence import decode
from rnalabel.errors import ConfigError
from rnalabel.views.base import Folding, View, register_view

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from rnalabel.data import Dataset
    from rnalabel.views.cache import ArrayCache

log = logging.getLogger(__name__)

#: channels of the loop-context profile, in order (CapR's classes; bulges count as interior)
LOOP_CONTEXTS = ("paired", "exterior", "hairpin", "interior", "multiloop")
#: profile name -> channel names
PROFILES: dict[str, tuple[str, ...]] = {
    "pu": ("paired", "unpaired"),
    "loop": LOOP_CONTEXTS,
    "unpaired": ("unpaired",),
}
#: shortest sequence ViennaRNA's window routines are called on; shorter ones cannot pair
MIN_FOLD_LENGTH = 5
#: bump when the cached arrays change meaning
_CACHE_FORMAT = "structure-1"
_PACK_ITEMS = 4096


# pure folding functions -------------------------------------------------------------------------------------
def _model(n: int, window: int, span: int, temperature: float):
    import RNA

    md = RNA.md()
    md.temperature = float(temperature)
    md.window_size = min(int(window), n)
    md.max_bp_span = min(int(span), md.window_size)
    return md


def unpaired_probability(
    seq: str, *, window: int = 150, span: int = 150, ulength: int = 1, temperature: float = 37.0
) -> np.ndarray:
    """RNAplfold's probability that each base (or stretch of ``ulength`` bases) is unpaired.

    Parameters
    ----------
    seq : str
        RNA sequence (ACGU; N pairs with nothing).
    window : int
        RNAplfold ``-W``: probabilities are averaged over windows of this size (shrunk to the sequence length).
        Default is 150.
    span : int
        RNAplfold ``-L``: the largest distance between paired bases. Default is 150.
    ulength : int
        RNAplfold ``-u``: entry ``i`` is the probability that the ``ulength`` bases ending at ``i`` are all
        unpaired (0 for ``i < ulength - 1``). Default is 1.
    temperature : float
        Degrees Celsius. Default is 37.0.

    Returns
    -------
    numpy.ndarray, shape=(L,), dtype=float64
    """
    n = len(seq)
    if n < MIN_FOLD_LENGTH:
        out = np.ones(n)
        out[: ulength - 1] = 0.0
        return out
    import RNA

    out = np.zeros(n)

    def collect(v, v_size, i, maxsize, what, data):
        if what & RNA.PROBS_WINDOW_UP and ulength <= v_size:
            data[i - 1] = v[ulength]

    fc = RNA.fold_compound(seq, _model(n, window, span, temperature), RNA.OPTION_WINDOW)
    fc.probs_window(int(ulength), RNA.PROBS_WINDOW_UP, collect, out)
    return out


def unpaired_by_loop_type(seq: str, *, window: int = 150, span: int = 150, temperature: float = 37.0) -> np.ndarray:
    """Probability that each base is unpaired in an exterior, hairpin, interior (incl. bulge) or multi loop.

    Parameters are as for :func:`unpaired_probability`.

    Returns
    -------
    numpy.ndarray, shape=(4, L), dtype=float64
        Rows exterior, hairpin, interior, multiloop; their sum is the unpaired probability.
    """
    n = len(seq)
    out = np.zeros((4, n))
    if n < MIN_FOLD_LENGTH:
        out[0] = 1.0
        return out
    import RNA

    row = {RNA.EXT_LOOP: 0, RNA.HP_LOOP: 1, RNA.INT_LOOP: 2, RNA.MB_LOOP: 3}

    def collect(v, v_size, i, maxsize, what, data):
        if what & RNA.PROBS_WINDOW_UP:
            r = row.get(what & ~RNA.PROBS_WINDOW_UP)
            if r is not None:
                data[r, i - 1] = v[1]

    fc = RNA.fold_compound(seq, _model(n, window, span, temperature), RNA.OPTION_WINDOW)
    fc.probs_window(1, RNA.PROBS_WINDOW_UP | RNA.PROBS_WINDOW_UP_SPLIT, collect, out)
    return out


def profile_from_loop_types(unpaired: np.ndarray, profile: str = "loop") -> np.ndarray:
    """Assemble a profile from :func:`unpaired_by_loop_type` output.

    Parameters
    ----------
    unpaired : numpy.ndarray, shape=(4, L)
    profile : "pu", "loop" or "unpaired"
        Default is "loop".

    Returns
    -------
    numpy.ndarray, shape=(C, L), dtype=float32
        ``C`` = 2 (paired, unpaired), 5 (:data:`LOOP_CONTEXTS`) or 1 (unpaired).
    """
    u = np.clip(np.asarray(unpaired, dtype=np.float64), 0.0, 1.0)
    total = np.clip(u.sum(axis=0), 0.0, 1.0)
    if profile == "pu":
        out = np.stack([1.0 - total, total])
    elif profile == "loop":
        out = np.concatenate([(1.0 - total)[None], u])
    elif profile == "unpaired":
        out = total[None]
    else:
        raise ConfigError(f"unknown structure profile {profile!r}.", remedy=f"choose one of: {', '.join(PROFILES)}.")
    return out.astype(np.float32)


def loop_context_profile(seq: str, *, window: int = 150, span: int = 150, temperature: float = 37.0) -> np.ndarray:
    """Per-position probabilities of the contexts paired, exterior, hairpin, interior/bulge, multiloop.

    Exact (no sampling): ViennaRNA's loop-type split of the unpaired probabilities; each real position sums to 1.
    Parameters are as for :func:`unpaired_probability`.

    Returns
    -------
    numpy.ndarray, shape=(5, L), dtype=float32
    """
    return profile_from_loop_types(unpaired_by_loop_type(seq, window=window, span=span, temperature=temperature))


def paired_unpaired_profile(seq: str, *, window: int = 150, span: int = 150, temperature: float = 37.0) -> np.ndarray:
    """The paired/unpaired (PU) profile of Multi-resBind's Fig. 5: rows (paired, unpaired), shape=(2, L), float32."""
    u = unpaired_by_loop_type(seq, window=window, span=span, temperature=temperature)
    return profile_from_loop_types(u, "pu")


def structure_contexts(dot_bracket: str) -> np.ndarray:
    """The loop context of every position of one structure, as an index into :data:`LOOP_CONTEXTS`.

    A paired base is 0; an unpaired base is classified by the innermost pair enclosing it: none, exterior (1);
    a pair enclosing no other pair, hairpin (2); one other pair, interior or bulge (3); two or more, multiloop (4).
    Useful to check :func:`loop_context_profile` against structures sampled from the ensemble.

    Parameters
    ----------
    dot_bracket : str
        Balanced dot-bracket string.

    Returns
    -------
    numpy.ndarray, shape=(L,), dtype=int8
    """
    n = len(dot_bracket)
    out = np.zeros(n, dtype=np.int8)
    stack: list[int] = []  # open positions
    children: dict[int, int] = {-1: 0}  # opening position -> pairs directly inside (-1: the exterior)
    enclosing = np.full(n, -1, dtype=np.int64)  # innermost open pair of each unpaired base
    for i, c in enumerate(dot_bracket):
        if c == "(":
            children[stack[-1] if stack else -1] += 1
            stack.append(i)
            children[i] = 0
        elif c == ")":
            stack.pop()
        else:
            enclosing[i] = stack[-1] if stack else -1
    for i, c in enumerate(dot_bracket):
        if c not in "()":
            p = int(enclosing[i])
            out[i] = 1 if p < 0 else 2 + min(children[p], 2)
    return out


# parallel, cached folding -----------------------------------------------------------------------------------
def default_processes() -> int:
    """CPUs this process may use (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _fold_chunk(args: tuple[Callable[[str], np.ndarray], list[str]]) -> list[np.ndarray]:
    func, seqs = args
    return [np.asarray(func(s), dtype=np.float32) for s in seqs]


def _params_key(window: int, span: int, temperature: float) -> str:
    import RNA

    return f"{_CACHE_FORMAT} vienna={RNA.__version__} W={int(window)} L={int(span)} T={float(temperature)!r}"


class CacheFill(NamedTuple):
    """What :func:`fill_cache` did: distinct sequences seen, folded now, found in the cache."""

    distinct: int
    folded: int
    cached: int


def folded_sequences(tokens: np.ndarray, lengths: np.ndarray) -> list[str]:
    """The strings a folding view folds for a token matrix: each row's real part (``lengths`` clipped to the
    width), decoded, ambiguity codes as N. These strings are the cache keys, so every caller goes through here."""
    tokens = np.asarray(tokens)
    lens = np.clip(np.asarray(lengths, dtype=np.int64), 0, tokens.shape[1])
    return [decode(tokens[i], int(lens[i])) for i in range(tokens.shape[0])]


def _store(key: str, channels: int, cache_dir: str | os.PathLike | None) -> ArrayCache:
    from rnalabel.views.cache import ArrayCache, content_key

    return ArrayCache(f"structure/{content_key(key).hex()}", channels=channels, root=cache_dir)


def _fold_into(todo: Mapping[bytes, str], func: Callable[[str], np.ndarray], store: ArrayCache | None,
               processes: int | None, sink: Callable[[bytes, np.ndarray], None] | None = None) -> None:
    """Fold ``todo`` (key -> sequence) in parallel, writing a pack to ``store`` every few thousand items (so an
    interrupted run keeps most of its work) and handing each result to ``sink``."""
    if not todo:
        return
    keys = list(todo)
    procs = max(1, int(processes) if processes else default_processes())
    chunk = max(1, min(32, math.ceil(len(keys) / (4 * procs))))
    groups = [keys[a:a + chunk] for a in range(0, len(keys), chunk)]
    tasks = [(func, [todo[k] for k in g]) for g in groups]
    pending: dict[bytes, np.ndarray] = {}

    def collect(group: list[bytes], arrays: list[np.ndarray]) -> None:
        for k, a in zip(group, arrays, strict=True):
            pending[k] = a
            if sink is not None:
                sink(k, a)
        if store is not None and len(pending) >= _PACK_ITEMS:
            store.put(pending)
            pending.clear()

    if procs == 1 or len(groups) == 1:
        for g, task in zip(groups, tasks, strict=True):
            collect(g, _fold_chunk(task))
    else:
        from concurrent.futures import as_completed

        with _executor(min(procs, len(groups))) as ex:
            futures = {ex.submit(_fold_chunk, task): g for g, task in zip(groups, tasks, strict=True)}
            for fut in as_completed(futures):
                collect(futures[fut], fut.result())
    if store is not None:
        store.put(pending)


def fold_cached(
    sequences: Sequence[str],
    func: Callable[[str], np.ndarray],
    *,
    key: str,
    channels: int,
    processes: int | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> list[np.ndarray]:
    """``func(sequence)`` for many sequences: deduplicated, cached on disk by content, in parallel processes.

    The machinery behind every folding view (structure profiles, base-pairing maps).

    Parameters
    ----------
    sequences : sequence of str, length N
    func : callable str -> numpy.ndarray of shape (channels, m)
        A module-level function (or a ``functools.partial`` of one), so that worker processes can run it.
    key : str
        Everything that determines ``func``'s result besides the sequence (program version, parameters).
    channels : int
        First dimension of every result.
    processes : int, optional
        Worker processes. Default is None (every CPU available to this process); 1 folds in this process.
    cache : bool
        Read and write the disk cache. Default is True.
    cache_dir : str or PathLike, optional
        Cache root. Default is None (``$RNALABEL_CACHE`` or ``~/.cache/rnalabel``).

    Returns
    -------
    list of numpy.ndarray, float32, whether computed or read from the cache
    """
    from rnalabel.views.cache import content_key

    t0 = time.perf_counter()
    keys = [content_key(key, s) for s in sequences]
    unique = dict(zip(keys, sequences, strict=True))
    store = _store(key, channels, cache_dir) if cache else None
    done = store.get(unique) if store is not None else {}
    n_hit = len(done)
    _fold_into({k: s for k, s in unique.items() if k not in done}, func, store, processes, sink=done.__setitem__)
    log.debug("folded %d sequences (%d unique, %d cached) in %.2f s", len(keys), len(unique), n_hit,
              time.perf_counter() - t0)
    return [done[k] for k in keys]


def fill_cache(
    sequences: Sequence[str],
    folding: Folding,
    *,
    processes: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> CacheFill:
    """Put ``folding.func(sequence)`` of every distinct sequence that is not cached yet into the disk cache, as
    :func:`fold_cached` would, without keeping the results (memory stays at one pack of results).

    Parameters
    ----------
    sequences : sequence of str
    folding : Folding
        What to compute (a view's :meth:`~rnalabel.views.base.View.folding`).
    processes, cache_dir
        See :func:`fold_cached`.

    Returns
    -------
    CacheFill
    """
    from rnalabel.views.cache import content_key

    unique = {content_key(folding.key, s): s for s in sequences}
    store = _store(folding.key, folding.channels, cache_dir)
    present = store.has(unique)
    _fold_into({k: s for k, s in unique.items() if k not in present}, folding.func, store, processes)
    return CacheFill(len(unique), len(unique) - len(present), len(present))


def loop_type_folding(window: int = 150, span: int = 150, temperature: float = 37.0) -> Folding:
    """The cached computation behind :func:`fold_loop_types`: :func:`unpaired_by_loop_type` with these
    parameters, its cache key and 4 channels."""
    func = functools.partial(unpaired_by_loop_type, window=int(window), span=int(span), temperature=float(temperature))
    return Folding(func, _params_key(window, span, temperature), 4)


def fold_loop_types(
    sequences: Sequence[str],
    *,
    window: int = 150,
    span: int = 150,
    temperature: float = 37.0,
    processes: int | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> list[np.ndarray]:
    """:func:`unpaired_by_loop_type` for many sequences, through :func:`fold_cached`.

    Parameters
    ----------
    sequences : sequence of str, length N
    window, span, temperature
        As for :func:`unpaired_probability`. Defaults are 150, 150, 37.0.
    processes, cache, cache_dir
        See :func:`fold_cached`.

    Returns
    -------
    list of numpy.ndarray, each shape=(4, len(sequence)), dtype=float32
        Rows exterior, hairpin, interior, multiloop.
    """
    func, key, channels = loop_type_folding(window, span, temperature)
    return fold_cached(sequences, func, key=key, channels=channels, processes=processes, cache=cache,
                       cache_dir=cache_dir)


def _executor(workers: int) -> ProcessPoolExecutor:
    """A process pool; "fork" where the platform has it.

    Fork starts workers in milliseconds and, unlike "spawn"/"forkserver", does not re-import ``__main__`` (which
    breaks code run from stdin or an unguarded script). The workers only call ViennaRNA and numpy, never torch, so
    the usual fork hazard (thread pools of the parent) does not reach them; checked with torch threads and serial
    ViennaRNA calls in the parent first. A worker that dies raises ``BrokenProcessPool`` instead of hanging.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(workers, mp_context=mp.get_context(method))


def structure_profiles(
    tokens: np.ndarray,
    lengths: np.ndarray,
    *,
    profile: str = "pu",
    window: int = 150,
    span: int = 150,
    temperature: float = 37.0,
    processes: int | None = None,
    cache: bool = True,
) -> np.ndarray:
    """Structure profiles of a token matrix, zero at padding positions.

    Parameters
    ----------
    tokens : numpy.ndarray, shape=(N, W), dtype=uint8
    lengths : numpy.ndarray, shape=(N,)
        Real length of each row; only ``tokens[i, :lengths[i]]`` is folded.
    profile : "pu", "loop" or "unpaired"
        See :data:`PROFILES`. Default is "pu".
    window, span, temperature, processes, cache
        See :func:`fold_loop_types`.

    Returns
    -------
    numpy.ndarray, shape=(N, C, W), dtype=float32
    """
    tokens = np.asarray(tokens)
    n_rows, width = tokens.shape
    out = np.zeros((n_rows, len(PROFILES[profile]), width), dtype=np.float32)
    lens = np.clip(np.asarray(lengths, dtype=np.int64), 0, width)
    seqs = folded_sequences(tokens, lens)
    folded = fold_loop_types(seqs, window=window, span=span, temperature=temperature, processes=processes,
                             cache=cache)
    for i, u in enumerate(folded):
        out[i, :, : lens[i]] = profile_from_loop_types(u, profile)
    return out


# the view ---------------------------------------------------------------------------------------------------
@register_view
@dataclass(frozen=True)
class Structure(View):
    """Secondary-structure profile per position, (N, C, L); see the module docstring for the computation.

    Parameters
    ----------
    profile : "pu", "loop" or "unpaired"
        ``pu``: paired, unpaired (C = 2); ``loop``: paired, exterior, hairpin, interior/bulge, multiloop (C = 5);
        ``unpaired``: C = 1. Default is "pu".
    window : int
        RNAplfold ``-W``. Default is 150.
    span : int
        RNAplfold ``-L``, at most ``window``. Default is 150.
    temperature : float
        Degrees Celsius. Default is 37.0.
    processes : int or None
        Folding processes; does not change the result. Default is None (every available CPU).
    cache : bool
        Use the disk cache (``$RNALABEL_CACHE`` or ``~/.cache/rnalabel``); does not change the result.
        Default is True.
    """

    type = "structure"
    kind = "position"
    profile: str = "pu"
    window: int = 150
    span: int = 150
    temperature: float = 37.0
    processes: int | None = None
    cache: bool = True

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ConfigError(
                f"unknown structure profile {self.profile!r}.", remedy=f"choose one of: {', '.join(PROFILES)}."
            )
        if not MIN_FOLD_LENGTH <= self.span <= self.window:
            raise ConfigError(
                f"structure span ({self.span}) and window ({self.window}) must satisfy "
                f"{MIN_FOLD_LENGTH} <= span <= window.",
                remedy="e.g. window: 150, span: 150 (the defaults).",
            )
        if self.processes is not None and self.processes < 1:
            raise ConfigError(f"structure processes must be at least 1, got {self.processes}.")

    def channels(self, dataset: Dataset | None = None) -> int:
        return len(PROFILES[self.profile])

    def channel_names(self, dataset: Dataset | None = None) -> list[str]:
        return list(PROFILES[self.profile])

    def folding(self) -> Folding | None:
        return loop_type_folding(self.window, self.span, self.temperature) if self.cache else None

    def transform(self, dataset: Dataset) -> np.ndarray:
        return structure_profiles(
            dataset.tokens, dataset.lengths, profile=self.profile, window=self.window, span=self.span,
            temperature=self.temperature, processes=self.processes, cache=self.cache,
        )

    def expensive(self) -> bool:
        return True
