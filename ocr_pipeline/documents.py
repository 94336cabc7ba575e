"""Bytes plus a file name in, page images out, with a clear error for every file that cannot be read.

The limits (bytes, pixels per page, pages) are checked before decoding where possible, so a
decompression bomb or a 5,000-page PDF is refused before it costs memory.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .config import DocumentLimits
from .errors import DocumentError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
SUPPORTED_SUFFIXES = (*IMAGE_SUFFIXES, ".pdf")
SUPPORTED_FORMATS = "PNG, JPEG, TIFF (every frame), BMP, WEBP and PDF"

_MAGIC = {
    b"%PDF": "pdf",
    b"\x89PNG": "image",
    b"\xff\xd8\xff": "image",
    b"II*\x00": "image",
    b"MM\x00*": "image",
    b"BM": "image",
}


@dataclass
class Page:
    index: int  # 0-based
    image: Image.Image


@dataclass
class Document:
    name: str
    kind: str  # "pdf" or "image"
    pages: list[Page]
    warnings: list[str] = field(default_factory=list)


def _sniff(data: bytes) -> str | None:
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image"
    return None


def load_document(data: bytes, name: str, limits: DocumentLimits | None = None, dpi: int | None = None) -> Document:
    """Decode `data` (the bytes of file `name`) into RGB page images.

    The content decides the format, not the name: a text file renamed `.png` is refused,
    a PDF named `.bin` is read.
    """
    limits = limits or DocumentLimits.from_env()
    dpi = dpi or limits.dpi
    if not data:
        raise DocumentError(name, "the file is empty (0 bytes).")
    if len(data) > limits.max_bytes:
        raise DocumentError(
            name, f"the file is {len(data) / 2**20:.1f} MiB, over the {limits.max_bytes / 2**20:.0f} MiB limit."
        )
    kind = _sniff(data)
    suffix = Path(name).suffix.lower()
    if kind is None:
        if suffix in SUPPORTED_SUFFIXES:
            raise DocumentError(
                name, f"the name says {suffix} but the content is not a readable {suffix[1:].upper()} file "
                "(renamed, corrupt or truncated)."
            )
        raise DocumentError(name, f"unsupported file type '{suffix or 'none'}'. Supported: {SUPPORTED_FORMATS}.")
    if kind == "pdf":
        return Document(name, "pdf", _load_pdf(data, name, limits, dpi))
    return Document(name, "image", _load_image(data, name, limits))


def _check_pixels(name: str, width: int, height: int, limits: DocumentLimits, where: str = "") -> None:
    if width * height > limits.max_pixels:
        raise DocumentError(
            name, f"{where}the image is {width}×{height} = {width * height / 1e6:.0f} megapixels, over the "
            f"{limits.max_pixels / 1e6:.0f} megapixel limit (possible decompression bomb)."
        )


def _load_image(data: bytes, name: str, limits: DocumentLimits) -> list[Page]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            frame_count = getattr(image, "n_frames", 1)
            if frame_count > limits.max_pages:
                raise DocumentError(name, f"it has {frame_count} frames, over the {limits.max_pages}-page limit.")
            pages = []
            for index in range(frame_count):
                image.seek(index)
                _check_pixels(name, *image.size, limits, f"frame {index + 1}: " if frame_count > 1 else "")
                frame = ImageOps.exif_transpose(image)
                pages.append(Page(index, frame.convert("RGB")))
            return pages
        except DocumentError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            # Pillow refuses images far past its own limit before we can read the size.
            raise DocumentError(
                name, f"the image is over the {limits.max_pixels / 1e6:.0f} megapixel limit and Pillow's own "
                "safety limit (possible decompression bomb)."
            ) from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
            raise DocumentError(name, f"the image is corrupt or truncated ({error}).") from error


def _load_pdf(data: bytes, name: str, limits: DocumentLimits, dpi: int) -> list[Page]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise DocumentError(name, "the PDF is password-protected; remove the password and upload it again.") from error
        raise DocumentError(name, f"the PDF is corrupt or truncated ({error}).") from error
    try:
        page_count = len(pdf)
        if page_count == 0:
            raise DocumentError(name, "the PDF has no pages.")
        if page_count > limits.max_pages:
            raise DocumentError(name, f"it has {page_count} pages, over the {limits.max_pages}-page limit.")
        scale = dpi / 72
        pages = []
        for index in range(page_count):
            page = pdf[index]
            width, height = page.get_size()
            _check_pixels(name, int(width * scale), int(height * scale), limits, f"page {index + 1} at {dpi} dpi: ")
            pages.append(Page(index, page.render(scale=scale).to_pil().convert("RGB")))
            page.close()
        return pages
    finally:
        pdf.close()
