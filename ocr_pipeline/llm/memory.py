"""Memory figures every backend reports (process RSS, CUDA where this process uses it) and the
steps that hand memory back after a model is dropped.

Nothing here imports torch: it is looked at only where another module has finished importing it.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from dataclasses import dataclass
from types import ModuleType

import psutil


def imported_torch() -> ModuleType | None:
    """torch if it is fully imported in this process, else None (never imports it).

    A module being imported by another thread is already in `sys.modules`, half initialised
    (`torch.cuda` missing): CPython marks it with `__spec__._initializing` until the import ends.
    """
    torch = sys.modules.get("torch")
    spec = getattr(torch, "__spec__", None)
    if torch is None or getattr(spec, "_initializing", False):
        return None
    return torch


def cuda_in_use() -> ModuleType | None:
    """torch where this process has initialised CUDA, else None."""
    torch = imported_torch()
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch


@dataclass(frozen=True)
class MemorySnapshot:
    rss_bytes: int  # resident memory of this process
    cuda_allocated_bytes: int | None = None  # None where CUDA is not in use by this process
    cuda_reserved_bytes: int | None = None

    def describe(self) -> str:
        text = f"RSS {self.rss_bytes / 2**20:.0f} MiB"
        if self.cuda_allocated_bytes is not None:
            text += (
                f", CUDA allocated {self.cuda_allocated_bytes / 2**20:.0f} MiB"
                f" / reserved {(self.cuda_reserved_bytes or 0) / 2**20:.0f} MiB"
            )
        return text


def memory_snapshot() -> MemorySnapshot:
    """Process RSS, plus CUDA memory where this process has initialised CUDA."""
    rss = psutil.Process().memory_info().rss
    torch = cuda_in_use()
    if torch is None:
        return MemorySnapshot(rss)
    return MemorySnapshot(rss, torch.cuda.memory_allocated(), torch.cuda.memory_reserved())


@dataclass(frozen=True)
class ReleaseReport:
    before: MemorySnapshot
    after: MemorySnapshot

    def describe(self) -> str:
        return f"before: {self.before.describe()}; after: {self.after.describe()}"


def _release_cpu_heap() -> None:
    """Hand freed heap pages back to the OS (glibc keeps them otherwise, and RSS would stay high)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def give_memory_back() -> None:
    """What follows dropping a model's last reference: collect, empty the CUDA cache, trim the heap."""
    gc.collect()
    torch = cuda_in_use()
    if torch is not None:
        torch.cuda.empty_cache()
    _release_cpu_heap()
