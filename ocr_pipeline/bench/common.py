"""What every benchmark shares: the machine it ran on, memory sampling, text scores, key fields.

Text is compared the way `metrics` does (case-insensitive, whitespace collapsed) and also exactly;
OCR is also scored without its reading order (`cer_any_order`), and its glued words are counted.
Memory is the resident set (RSS) of this process plus its child processes (Tesseract, the Aspose
worker), sampled every 20 ms while the measured work runs, so a short spike between two samples
can be missed.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import shutil
import statistics
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence

import psutil
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from .. import metrics

Progress = Callable[[int, int, str], None]  # (items done, items in total, what is being done)

SAFETY_FIELDS = ("total", "date")  # the key fields correction must never lose
MIB = 2**20


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its finished child processes: unlike wall time,
    it barely moves when other processes compete for the cores."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    """CPU, cores, memory, GPU (if torch sees one) and the versions that decide the figures."""
    packages = (
        "torch",
        "transformers",
        "accelerate",
        "bitsandbytes",
        "onnxruntime",
        "rapidocr",
        "pytesseract",
        "aspose-ocr-python-net",
    )
    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {package: _version(package) for package in packages if _version(package)},
        "gpu": None,
    }
    if shutil.which("tesseract"):
        first_line = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        info["versions"]["tesseract"] = first_line.removeprefix("tesseract ").strip()
    if _version("torch"):
        import torch

        if torch.cuda.is_available():
            properties = torch.cuda.get_device_properties(0)
            info["gpu"] = {
                "name": properties.name,
                "memory_gib": round(properties.total_memory / 2**30, 1),
                "cuda": torch.version.cuda,
            }
    return info


def _rss_with_children() -> int:
    process = psutil.Process()
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:  # the child ended between listing and reading
            pass
    return total


class PeakMemory:
    """The highest RSS (this process and its children) while the block runs, sampled every 20 ms."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.start_bytes = self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_bytes = max(self.peak_bytes, _rss_with_children())

    def __enter__(self) -> PeakMemory:
        self.start_bytes = self.peak_bytes = _rss_with_children()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, _rss_with_children())

    @property
    def added_bytes(self) -> int:
        return self.peak_bytes - self.start_bytes


# --- text figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextScores:
    """CER and WER against the ground truth: normalised (case, whitespace) and exact."""

    cer: float
    wer: float
    cer_exact: float
    wer_exact: float


def score_text(hypothesis: str, reference: str) -> TextScores:
    return TextScores(
        metrics.cer(hypothesis, reference),
        metrics.wer(hypothesis, reference),
        metrics.cer(hypothesis, reference, normalized=False),
        metrics.wer(hypothesis, reference, normalized=False),
    )


def mean_scores(scores: Sequence[TextScores]) -> TextScores | None:
    """The mean of each figure over documents (every document weighs the same)."""
    if not scores:
        return None
    return TextScores(
        *(
            round(statistics.fmean(getattr(s, name) for s in scores), 4)
            for name in ("cer", "wer", "cer_exact", "wer_exact")
        )
    )


_TAKEN = "\0"  # marks hypothesis text a reference line was already placed on


def cer_any_order(hypothesis: str, reference: str) -> float:
    """CER with the reference's lines taken in the order the hypothesis has them: reading errors
    without ordering errors.

    Each reference line, longest first, is placed where it matches the hypothesis best, on text no
    other line took (a line the engine merged with its neighbour still finds its half); the lines
    are then joined in the order of their places and scored like `metrics.cer`. The reference's own
    order counts too, so this is never above the order-sensitive CER.
    """
    hyp = metrics.normalize(hypothesis)
    lines = [metrics.normalize(line) for line in reference.splitlines() if line.strip()]
    ref = " ".join(lines)
    if not ref:
        return metrics.cer(hypothesis, reference)
    free, places = hyp, []
    for index in sorted(range(len(lines)), key=lambda i: -len(lines[i])):
        match = fuzz.partial_ratio_alignment(lines[index], free) if len(lines[index]) <= len(free) else None
        if match is None or match.score == 0:
            places.append((len(hyp), index))  # nowhere to put it: after everything, in the reference's order
            continue
        free = free[: match.dest_start] + _TAKEN * (match.dest_end - match.dest_start) + free[match.dest_end :]
        places.append((match.dest_start, index))
    reordered = " ".join(lines[index] for _, index in sorted(places))
    return min(Levenshtein.distance(hyp, reordered), Levenshtein.distance(hyp, ref)) / len(ref)


GLUED_LETTERS = 15


def glued_words(hypothesis: str, reference: str, min_letters: int = GLUED_LETTERS) -> list[str]:
    """Words of the hypothesis with `min_letters` letters or more that stand for several words of
    the reference: the place the word matches best in the reference has a space inside."""
    ref = metrics.normalize(reference)
    glued = []
    for word in metrics.normalize(hypothesis).split():
        if sum(char.isalpha() for char in word) < min_letters:
            continue
        match = fuzz.partial_ratio_alignment(word, ref)
        if match is not None and " " in ref[match.dest_start : match.dest_end].strip():
            glued.append(word)
    return glued


_CURRENCY_PREFIX = re.compile(r"^(?:rm|usd|eur|gbp|myr|[$€£¥])\s*")


def key_found(field_name: str, value: str, text: str) -> bool:
    """Whether a key field's value appears in the text, both normalised like `metrics.normalize`.

    A `total` is looked for as a whole number, with or without a currency prefix ("RM 9.00" and
    "9.00" both find 9.00, "19.00" does not).
    """
    wanted, haystack = metrics.normalize(value), metrics.normalize(text)
    if field_name == "total":
        amount = _CURRENCY_PREFIX.sub("", wanted)
        return bool(amount) and re.search(rf"(?<![\d.,]){re.escape(amount)}(?![\d])", haystack) is not None
    return bool(wanted) and wanted in haystack


_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")


def numbers_kept(ocr: str, output: str) -> tuple[int, int]:
    """(numbers of the OCR text still in the output, numbers in the OCR text), counted with repeats.

    A number is a run of digits, possibly with . , : / - inside (amounts, dates, times, ids); a
    look-alike repair such as 1O0 -> 100 counts as a change, because the digits differ.
    """
    before, after = Counter(_NUMBER.findall(ocr)), Counter(_NUMBER.findall(output))
    return sum((before & after).values()), sum(before.values())
