"""Benchmarks the project judges itself by: OCR, correction, the whole pipeline, memory, overhead, GPU.

Every measurement is a function that returns a report (a dataclass with `to_json()`), so the
`bench` command and the dashboard's Evaluate page run the same code. Each report carries the
machine it ran on and the 1-minute load average at its start and end: on a shared machine a
timing means little without it.

| module | what |
|---|---|
| `common` | the machine, memory sampling, text scores, key fields, numbers kept |
| `data` | scans with transcripts, text pairs |
| `ocr` | OCR per engine, beside plain RapidOCR |
| `correction` | correction on pairs, and OCR then correction on scans |
| `memory` | load/release cycles |
| `speed` | the pipeline's overhead over plain `generate`; random-weight Qwen2.5 shapes on a GPU and a CPU |
| `report` | the readable report and per-document rows |
| `cli` | the `bench` subcommands |
"""

from .cli import add_bench_commands
from .common import cer_any_order, glued_words, key_found, numbers_kept
from .correction import benchmark_correction, benchmark_pipeline
from .data import load_pairs, load_scan_set, parse_pairs
from .memory import benchmark_release
from .ocr import PLAIN_RAPIDOCR, benchmark_ocr
from .report import document_rows, render_report
from .speed import NO_CUDA, QWEN25_SHAPES, benchmark_cpu, benchmark_gpu, benchmark_overhead

__all__ = [
    "NO_CUDA", "PLAIN_RAPIDOCR", "QWEN25_SHAPES", "add_bench_commands", "benchmark_correction", "benchmark_cpu", "benchmark_gpu",
    "benchmark_ocr", "benchmark_overhead", "benchmark_pipeline", "benchmark_release", "cer_any_order", "document_rows",
    "glued_words", "key_found", "load_pairs", "load_scan_set", "numbers_kept", "parse_pairs", "render_report",
]
