"""Where and how arithmetic runs: the device, bfloat16 support and training precision, tensors on a device, a
context that restores a module's device and mode, and the progress bar of long work."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn


def native_bf16(device: str | torch.device | None = None) -> bool:
    """Whether ``device`` does bfloat16 arithmetic natively (so bf16 autocast is a speed-up, not an emulation).

    CUDA: ``torch.cuda.is_bf16_supported()``. CPU: the ``avx512_bf16`` or ``amx_bf16`` flag in ``/proc/cpuinfo``
    (Linux; other systems answer False).
    """
    dev = resolve_device(device)
    if dev.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if dev.type != "cpu":
        return False
    return _cpu_has_bf16()


@functools.lru_cache(maxsize=1)
def _cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: str | torch.device | None = None) -> str:
    """The Lightning precision a recipe's ``precision`` means on ``device`` ("auto" -> bf16-mixed or 32)."""
    if precision == "auto":
        return "bf16-mixed" if native_bf16(device) else "32"
    return precision


def training_precision(precision: str, device: torch.device) -> str:
    """:func:`resolve_precision` for a training on ``device``, warning when bf16 is forced where it is emulated
    (no AVX512-BF16/AMX on a CPU): training then runs many times slower than in fp32."""
    import warnings

    used = resolve_precision(precision, device)
    if used.startswith("bf16") and not native_bf16(device):
        warnings.warn(f"bf16 is emulated on this {device.type} (no native bf16: AVX512-BF16/AMX on a CPU), so "
                      "training runs many times slower than in fp32 (13x measured on an AVX2 CPU); set precision: "
                      "auto (bf16 only where native) or 32.", RuntimeWarning, stacklevel=3)
    return used


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` means CUDA when present, else CPU. An unknown device, or CUDA where there is none, raises
    :class:`~rnalabel.errors.InputError`."""
    from rnalabel.errors import InputError

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"unknown device {device!r}.", remedy="use cpu or cuda (or cuda:N).") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} was asked for, but this machine (or this torch build) has no CUDA GPU.",
                         remedy="use --device cpu, or leave --device out (CUDA when present, else CPU).")
    if dev.type not in ("cpu", "cuda"):
        raise InputError(f"device {device!r} is not supported.", remedy="use cpu or cuda.")
    return dev


def to_tensors(arrays: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in arrays.items()}


class preserve_state:  # noqa: N801 - context manager
    """Put a module in eval mode on ``device`` and restore its mode and device afterwards (tangermeme's habit)."""

    def __init__(self, module: nn.Module, device: torch.device) -> None:
        self.module, self.device = module, device

    def __enter__(self) -> nn.Module:
        self.training = self.module.training
        p = next(self.module.parameters(), None)
        self.old_device = p.device if p is not None else torch.device("cpu")
        self.module.eval().to(self.device)
        return self.module

    def __exit__(self, *exc) -> None:
        self.module.train(self.training).to(self.old_device)


def progress_bar(show: bool, total: int, what: str):
    """A started rich progress bar with one task (advance it with ``bar.advance(bar.task_ids[0], n)``, then
    ``bar.stop()``), or None when ``show`` is False."""
    if not show:
        return None
    from rich.progress import Progress

    p = Progress(transient=True)
    p.start()
    p.add_task(what, total=total)
    return p
