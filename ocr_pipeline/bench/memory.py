"""Memory across load and release: a model loaded and released again and again must not grow."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .common import Progress, load_average, machine_info
from .report import Report, mib


@dataclass
class ReleaseCycle:
    cycle: int
    load_seconds: float
    after_load: dict  # MemorySnapshot fields, bytes
    after_release: dict


@dataclass
class ReleaseBenchmark(Report):
    kind = "release"

    model: str
    options: dict
    before: dict  # before the first load (torch and transformers already imported)
    cycles: list[ReleaseCycle]
    rss_growth: float  # RSS after the last release over RSS before the first load, minus 1
    rss_growth_after_first: float  # after the last release over after the first release, minus 1
    cuda_returned: bool | None  # CUDA allocated after every release == before the first load; None without CUDA

    def title(self) -> str:
        return f"Load/release of {self.model}, {len(self.cycles)} cycles; before: RSS {mib(self.before)} MiB"

    def table(self) -> list[dict]:
        return [
            {
                "cycle": c.cycle,
                "load s": c.load_seconds,
                "RSS after load MiB": mib(c.after_load),
                "RSS after release MiB": mib(c.after_release),
                "CUDA alloc after load MiB": mib(c.after_load, "cuda_allocated_bytes"),
                "CUDA alloc after release MiB": mib(c.after_release, "cuda_allocated_bytes"),
            }
            for c in self.cycles
        ]

    def notes(self) -> list[str]:
        notes: list[str] = []
        notes.append(
            f"RSS growth: {self.rss_growth:+.2%} over before the first load, "
            f"{self.rss_growth_after_first:+.2%} over after the first release; CUDA returned: "
            f"{'n/a (no CUDA)' if self.cuda_returned is None else self.cuda_returned}"
        )
        return notes


def benchmark_release(source, options=None, cycles: int = 10, on_progress: Progress | None = None) -> ReleaseBenchmark:
    """Load and release the model `cycles` times; memory after each load and each release."""
    import torch  # noqa: F401 - imported before the baseline, so the baseline is not the import
    import transformers  # noqa: F401

    from ..llm.backends.transformers import load_model, release_model
    from ..llm.memory import memory_snapshot
    from ..llm.placement import LoadOptions

    options = options or LoadOptions()
    load_start = load_average()
    before = memory_snapshot()
    records = []
    for cycle in range(1, cycles + 1):
        if on_progress:
            on_progress(cycle - 1, cycles, f"cycle {cycle}")
        loaded = load_model(source, options)
        report = release_model(loaded)
        records.append(
            ReleaseCycle(cycle, round(loaded.load_seconds, 2), asdict(loaded.memory_after), asdict(report.after))
        )
        del loaded
    if on_progress:
        on_progress(cycles, cycles, "done")
    last, first = records[-1].after_release["rss_bytes"], records[0].after_release["rss_bytes"]
    cuda = [cycle.after_release["cuda_allocated_bytes"] for cycle in records]
    cuda_returned = None if cuda[-1] is None else all(value == (before.cuda_allocated_bytes or 0) for value in cuda)
    return ReleaseBenchmark(
        model=getattr(source, "name", str(source)),
        options=asdict(options),
        before=asdict(before),
        cycles=records,
        rss_growth=round(last / before.rss_bytes - 1, 4),
        rss_growth_after_first=round(last / first - 1, 4),
        cuda_returned=cuda_returned,
        machine=machine_info(),
        load_average=[load_start, load_average()],
    )
