"""A content-addressed, pickle-free disk cache for expensive per-sequence arrays (structure profiles, LM outputs).

Each item is a float32 array of shape ``(C, n)`` (``C`` fixed per namespace, ``n`` free: the sequence length)
stored under a 16-byte key, the BLAKE2b digest of everything that determines it (see :func:`content_key`).
Items are written in *packs*: one uncompressed ``.npz`` file per :meth:`ArrayCache.put` call holding

``keys``     shape=(m, 16), dtype=uint8, the item keys;
``offsets``  shape=(m + 1,), dtype=int64, item ``j`` is ``data[:, offsets[j]:offsets[j + 1]]``;
``data``     shape=(C, offsets[-1]), dtype=float32.

Why packs: one file per sequence means 300,000 tiny files (slow to write, list and back up); one file per dataset
cannot be shared between overlapping datasets (train/test, windows). Packs of a few thousand items keep the file
count small while keys stay per sequence, so any dataset reuses whatever was already computed.

Safety: a pack is written to a hidden temporary file in the same directory and renamed into place
(``os.replace``, atomic on POSIX), under a unique name, so concurrent processes never see partial files and never
overwrite each other; two processes computing the same items just leave duplicates, which are harmless. Files are
read with ``allow_pickle=False``; an unreadable pack is skipped with a warning (its items are recomputed).

The cache root is ``$RNALABEL_CACHE`` when set, else ``~/.cache/rnalabel``. Deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import os
import uuid
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from rnalabel.data.files import CACHE_ENV, atomic_path, cache_root  # noqa: F401  (re-exported)

KEY_BYTES = 16


def content_key(*parts: str | bytes) -> bytes:
    """16-byte BLAKE2b digest of ``parts`` (each length-prefixed, so ``("ab", "c") != ("a", "bc")``)."""
    h = hashlib.blake2b(digest_size=KEY_BYTES)
    for p in parts:
        b = p.encode() if isinstance(p, str) else bytes(p)
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.digest()


def _pack_keys(z) -> list[bytes]:
    """The keys of an open pack file, checked (uint8, KEY_BYTES each); ValueError otherwise."""
    raw = z["keys"]
    if raw.dtype != np.uint8 or raw.ndim != 2 or raw.shape[1] != KEY_BYTES:
        raise ValueError(f"keys of shape {raw.shape} and type {raw.dtype}")
    flat = raw.tobytes()
    return [flat[i:i + KEY_BYTES] for i in range(0, len(flat), KEY_BYTES)]


class ArrayCache:
    """Packs of ``(C, n)`` float32 arrays under ``root/namespace``.

    Parameters
    ----------
    root : str or PathLike, optional
        Default is :func:`cache_root`.
    namespace : str
        Subdirectory; put every parameter that changes the arrays' meaning in it (or in the keys).
    channels : int
        ``C``, the first dimension of every item.
    """

    def __init__(self, namespace: str, *, channels: int, root: str | os.PathLike | None = None) -> None:
        self.dir = Path(root if root is not None else cache_root()) / namespace
        self.channels = int(channels)

    def packs(self) -> list[Path]:
        """The complete pack files (temporary files of writes in progress are hidden)."""
        if not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.iterdir() if p.name.startswith("pack-") and p.name.endswith(".npz"))

    def get(self, keys: Iterable[bytes]) -> dict[bytes, np.ndarray]:
        """The cached items among ``keys``: ``{key: array (C, n)}``; missing keys are simply absent."""
        wanted = set(keys)
        found: dict[bytes, np.ndarray] = {}
        for path in self.packs():
            if len(found) == len(wanted):
                break
            try:
                with np.load(path, allow_pickle=False) as z:
                    pack_keys = _pack_keys(z)
                    hits = [j for j, k in enumerate(pack_keys) if k in wanted and k not in found]
                    if not hits:
                        continue
                    offsets, data = z["offsets"], z["data"]
                    if data.shape != (self.channels, int(offsets[-1])) or len(offsets) != len(pack_keys) + 1:
                        raise ValueError(f"inconsistent shapes {data.shape}, {offsets.shape}, {len(pack_keys)} keys")
            except Exception as exc:  # a damaged or foreign file: ignore it, recompute its items
                warnings.warn(f"ignoring unreadable cache pack {path} ({exc})", RuntimeWarning, stacklevel=2)
                continue
            for j in hits:
                found[pack_keys[j]] = data[:, offsets[j]:offsets[j + 1]]
        return found

    def has(self, keys: Iterable[bytes]) -> set[bytes]:
        """The keys among ``keys`` that are cached (only the packs' key lists are read, not their arrays)."""
        wanted = set(keys)
        found: set[bytes] = set()
        for path in self.packs():
            if len(found) == len(wanted):
                break
            try:
                with np.load(path, allow_pickle=False) as z:
                    pack_keys = _pack_keys(z)
            except Exception as exc:  # as in get: such a pack is ignored, its items count as missing
                warnings.warn(f"ignoring unreadable cache pack {path} ({exc})", RuntimeWarning, stacklevel=2)
                continue
            found.update(k for k in pack_keys if k in wanted)
        return found

    def put(self, items: Mapping[bytes, np.ndarray]) -> Path | None:
        """Write ``items`` as one new pack, atomically; returns its path (None when ``items`` is empty)."""
        if not items:
            return None
        if any(len(k) != KEY_BYTES for k in items):
            raise ValueError(f"cache keys must be {KEY_BYTES} bytes (see content_key)")
        keys = np.frombuffer(b"".join(items), dtype=np.uint8).reshape(-1, KEY_BYTES)
        arrays = [np.asarray(a, dtype=np.float32).reshape(self.channels, -1) for a in items.values()]
        offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([a.shape[1] for a in arrays])
        data = np.concatenate(arrays, axis=1) if arrays else np.zeros((self.channels, 0), np.float32)
        path = self.dir / f"pack-{uuid.uuid4().hex}.npz"
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=keys, offsets=offsets, data=data)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; a cache may be shared by a group
        return path
