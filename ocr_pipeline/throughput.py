"""How long a correction will take: seconds per chunk measured on a model, kept between runs.

A chunk costs a fixed part (the prompt around it) and a part that grows with its tokens, so the
estimate is a least-squares line through the last chunks measured for that model and backend.
Measurements are kept in `<data folder>/throughput.json`, so the command line can say how long a
long document will take before it starts, and the dashboard after its first correction.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from pathlib import Path
from collections.abc import Iterable

from .config import data_dir

log = logging.getLogger(__name__)

SAMPLES_KEPT = 64
_FILE_LOCK = threading.Lock()


def throughput_file() -> Path:
    return data_dir() / "throughput.json"


class Throughput:
    """(chunk tokens, seconds) samples of one model on one backend, and estimates from them."""

    def __init__(self, key: str, samples: Iterable[tuple[int, float]] = ()):
        self.key = key  # e.g. "demo on llamacpp"
        self._samples: deque[tuple[int, float]] = deque(samples, maxlen=SAMPLES_KEPT)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, key: str) -> Throughput:
        """The samples saved for `key` (none when there are none, or the file is unreadable)."""
        try:
            saved = json.loads(throughput_file().read_text(encoding="utf-8")).get(key, [])
            return cls(key, [(int(tokens), float(seconds)) for tokens, seconds in saved])
        except (OSError, ValueError, TypeError, AttributeError):
            return cls(key)

    def record(self, tokens: int, seconds: float) -> None:
        if tokens > 0 and seconds > 0:
            with self._lock:
                self._samples.append((tokens, seconds))

    def save(self) -> None:
        """Merge this key's samples into the file (atomically; other keys are kept)."""
        path = throughput_file()
        with _FILE_LOCK, self._lock:
            try:
                saved = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
                if not isinstance(saved, dict):
                    saved = {}
            except (OSError, ValueError):
                saved = {}
            saved[self.key] = [list(sample) for sample in self._samples]
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
                partial.write_text(json.dumps(saved), encoding="utf-8")
                partial.replace(path)
            except OSError as error:  # an estimate is a nicety: never fail a correction over it
                log.warning("could not save throughput measurements to %s: %s", path, error)

    @property
    def measured(self) -> bool:
        return bool(self._samples)

    def seconds_for(self, chunk_tokens: Iterable[int]) -> float | None:
        """Estimated seconds for chunks of these token counts; None before any measurement."""
        with self._lock:
            samples = list(self._samples)
        if not samples:
            return None
        fixed, per_token = _line(samples)
        return sum(max(fixed + per_token * tokens, 0.0) for tokens in chunk_tokens)


def _line(samples: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares seconds = fixed + per_token * tokens; through the origin when tokens never vary."""
    count = len(samples)
    mean_tokens = sum(tokens for tokens, _ in samples) / count
    mean_seconds = sum(seconds for _, seconds in samples) / count
    spread = sum((tokens - mean_tokens) ** 2 for tokens, _ in samples)
    if spread == 0:
        return 0.0, mean_seconds / mean_tokens
    per_token = sum((tokens - mean_tokens) * (seconds - mean_seconds) for tokens, seconds in samples) / spread
    if per_token <= 0:  # noise on a handful of similar chunks: fall back to a proportional estimate
        return 0.0, mean_seconds / mean_tokens
    return mean_seconds - per_token * mean_tokens, per_token


def describe_seconds(seconds: float) -> str:
    """'45 s', '3 min 20 s', '1 h 05 min': how a person reads a duration."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
