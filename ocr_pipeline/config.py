"""Limits and folders, each overridable by an environment variable.

Defaults are chosen so one upload cannot exhaust a 24 GiB, 2-core machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass(frozen=True)
class DocumentLimits:
    """Guards applied before and while decoding a document."""

    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 60_000_000  # per page; larger images are treated as decompression bombs
    max_pages: int = 50
    dpi: int = 300

    @classmethod
    def from_env(cls) -> DocumentLimits:
        return cls(
            max_bytes=_env_int("OCR_MAX_BYTES", cls.max_bytes),
            max_pixels=_env_int("OCR_MAX_PIXELS", cls.max_pixels),
            max_pages=_env_int("OCR_MAX_PAGES", cls.max_pages),
            dpi=_env_int("OCR_DPI", cls.dpi),
        )


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """User data (team prompts, settings): `OCR_PIPELINE_HOME`, else ~/.local/share/ocr-pipeline."""
    home = os.environ.get("OCR_PIPELINE_HOME")
    path = Path(home) if home else Path.home() / ".local" / "share" / "ocr-pipeline"
    return path


def model_dir() -> Path:
    """Where models are downloaded and looked up: `OCR_MODEL_DIR`, else <data_dir>/models."""
    value = os.environ.get("OCR_MODEL_DIR")
    return Path(value) if value else data_dir() / "models"
