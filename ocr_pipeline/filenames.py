"""File names that come from outside (uploads, zip entries) made safe to show and to use in a path.

A client chooses the name of what it uploads, and an archive chooses the names inside it: either
may be `../../etc/x`, an absolute path, a Windows path, or carry control characters. Nothing here
touches the file system; callers that store a file name it by content hash and keep the cleaned
name only as a label.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

MAX_NAME_LENGTH = 120
_UNSAFE_CHARACTERS = re.compile(r'[\x00-\x1f\x7f<>:"|?*\\/]')
_DRIVE = re.compile(r"^[A-Za-z]:$")


def _parts(name: str) -> list[str]:
    """Path components with the ones that move around the tree ('', '.', '..', 'C:') dropped."""
    pieces = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")
    return [piece for piece in pieces if piece.strip() not in ("", ".", "..") and not _DRIVE.match(piece)]


def _clean(part: str) -> str:
    text = "".join(ch for ch in part if unicodedata.category(ch) not in ("Cc", "Cf"))
    text = _UNSAFE_CHARACTERS.sub("_", text).strip().lstrip(".").strip()
    if len(text) > MAX_NAME_LENGTH:
        suffix = PurePosixPath(text).suffix[:16]
        text = text[: MAX_NAME_LENGTH - len(suffix)] + suffix
    return text


def safe_name(name: str, fallback: str = "upload") -> str:
    """The base name of `name`, cleaned: no folders, no leading dots, no control or reserved characters."""
    parts = [cleaned for cleaned in map(_clean, _parts(name)) if cleaned]
    return parts[-1] if parts else fallback


def safe_member_path(name: str) -> str | None:
    """A zip entry's path as a relative 'a/b/c.png' with every component cleaned, or None when nothing is left."""
    parts = [cleaned for cleaned in map(_clean, _parts(name)) if cleaned]
    return "/".join(parts) or None
