"""Aspose.OCR license files that users upload: stored by content, never under the name they came with.

The client chooses an upload's name (`../../x.lic` included), so the file is written as
`<data folder>/aspose/license-<sha256 prefix>.lic`, once per content, and kept there until someone
removes it: Aspose reads the license from a path, and the next server start should still find it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .config import data_dir
from .errors import PipelineError

MAX_LICENSE_BYTES = 256 * 1024  # Aspose licenses are a few KB of signed XML


def license_folder() -> Path:
    return data_dir() / "aspose"


def save_license(data: bytes, shown_name: str = "the license") -> Path:
    """Store an uploaded license (once per content) and return its path; refuses what is no license."""
    if not data.strip():
        raise PipelineError(f"{shown_name}: the file is empty.")
    if len(data) > MAX_LICENSE_BYTES:
        raise PipelineError(f"{shown_name}: {len(data) / 1024:.0f} KB is too large for a license file.")
    if b"\x00" in data or not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise PipelineError(f"{shown_name}: not an Aspose license (those are XML text files starting with '<').")
    path = license_folder() / f"license-{hashlib.sha256(data).hexdigest()[:16]}.lic"
    if path.is_file() and path.read_bytes() == data:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.replace(path)
    return path
