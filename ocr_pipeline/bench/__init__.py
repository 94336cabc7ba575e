"""Benchmarks the project judges itself by: OCR, correction, the whole pipeline, memory, overhead, backends, GPU.

Every measurement is a function that returns a report (a dataclass with `to_json()`), so the
`bench` command and the dashboard's Evaluate page run the same code. Each report carries the
machine it ran on and the 1-minute load average at its start and end: on a shared machine a
timing means little without it.

| module | what |
|---|---|
| `common` | the machine, memory sampling, text scores, key fields, numbers kept |
| `data` | scans with transcripts, text pairs, replay rows |
| `ocr` | OCR per engine, beside plain RapidOCR |
| `correction` | correction on pairs, and OCR then correction on scans |
| `replay` | the guard on corrections models have already written (no model runs) |
| `adversarial` | harmful changes the guard must refuse, generated from receipts and prose |
| `memory` | load/release cycles |
| `speed` | the pipeline's overhead over plain `generate` |
| `backends` | transformers, llama.cpp and a server on the same chunks; the server's throughput by concurrency |
| `report` | the tables every report draws (each report renders itself: `render`, `rows`) |
"""

from .adversarial import CATEGORIES, adversarial_cases, benchmark_adversarial, generated_texts
from .backends import benchmark_backends
from .common import cer_any_order, glued_words, key_found, numbers_kept
from .correction import benchmark_correction, benchmark_pipeline
from .data import GROUND_TRUTH, load_pairs, load_replay, load_scan_set, parse_pairs, parse_replay
from .memory import benchmark_release
from .ocr import PLAIN_RAPIDOCR, benchmark_ocr
from .replay import benchmark_replay
from .speed import benchmark_overhead

__all__ = [
    "CATEGORIES",
    "GROUND_TRUTH",
    "PLAIN_RAPIDOCR",
    "adversarial_cases",
    "benchmark_adversarial",
    "benchmark_backends",
    "benchmark_correction",
    "benchmark_ocr",
    "benchmark_overhead",
    "benchmark_pipeline",
    "benchmark_release",
    "benchmark_replay",
    "cer_any_order",
    "generated_texts",
    "glued_words",
    "key_found",
    "load_pairs",
    "load_replay",
    "load_scan_set",
    "numbers_kept",
    "parse_pairs",
    "parse_replay",
]
