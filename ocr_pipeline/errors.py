"""Errors a person can act on.

Every error the library raises on bad input or a missing resource derives from
`PipelineError` and carries a message written for the user (what went wrong and
what to do next), so the CLI and the dashboard can show it instead of a traceback.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class: `str(error)` is a complete, user-facing message."""


def unreadable(path: object, error: OSError | ValueError) -> str:
    """Why the file system refused `path`, as one line: "x.jsonl: cannot be read (Permission denied)."
    (a ValueError is a NUL in the name)."""
    return f"{path}: cannot be read ({getattr(error, 'strerror', None) or error})."


class DocumentError(PipelineError):
    """A file that cannot be turned into page images (empty, corrupt, encrypted, too big...)."""

    def __init__(self, file_name: str, reason: str):
        self.file_name = file_name
        self.reason = reason
        super().__init__(f"{file_name}: {reason}")


class EngineUnavailable(PipelineError):
    """An OCR engine that cannot run on this machine, with the reason and the fix."""

    def __init__(self, engine: str, reason: str):
        self.engine = engine
        self.reason = reason
        super().__init__(f"OCR engine '{engine}' is unavailable: {reason}")


class OcrError(PipelineError):
    """An engine ran but failed on a page (for example a resource it would need to download)."""


class ModelError(PipelineError):
    """A language model that cannot be found, downloaded, loaded or run."""


class TextInputError(PipelineError):
    """Text to correct that is not text (binary, not UTF-8, control characters), empty, or too long."""


class ModelReleased(ModelError):
    """The model was released (by a person, or evicted) while a correction still needed it."""
