"""Bytes plus a file name in, page images out, with a clear error for every file that cannot be read.

The limits (bytes, pixels per page, pages) are checked before decoding where possible, so a
decompression bomb or a 5,000-page PDF is refused before it costs memory. Every image becomes
8-bit RGB the way a person would see it: high-bit-depth scans are scaled, not clipped, and
transparency lies on white paper; a page that comes out as one flat colour carries a warning.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .config import DocumentLimits
from .errors import DocumentError
from .notices import BLANK, Notice

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
SUPPORTED_SUFFIXES = (*IMAGE_SUFFIXES, ".pdf")
SUPPORTED_FORMATS = "PNG, JPEG, TIFF (every frame), BMP, WEBP and PDF"

# A page whose darkest and lightest grey differ by no more than this is one flat colour.
BLANK_PAGE_SPREAD = 4
# PDFium is not thread-safe and keeps its last error in a process-wide variable: one lock around
# every use keeps two sessions from crashing it or reading each other's errors.
_PDFIUM_LOCK = threading.Lock()
_HIGH_BIT_DEPTH_MODES = ("I", "F")  # Pillow's 32-bit integer and float modes; "I;16*" start with "I"

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
    text_layer: str = ""  # the text a PDF page carries itself (made digitally, or OCR'd by a scanner)

    @cached_property
    def is_blank(self) -> bool:
        """One flat colour and no text layer: nothing any engine could read (a duplex scan's empty back).
        Looked at once: the document's warning and the OCR both ask."""
        darkest, lightest = self.image.convert("L").getextrema()
        return lightest - darkest <= BLANK_PAGE_SPREAD and not self.text_layer


@dataclass
class Document:
    name: str
    pages: list[Page]
    warnings: list[str] = field(default_factory=list)

    @property
    def pages_with_text_layer(self) -> int:
        return sum(1 for page in self.pages if page.text_layer)


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
                name,
                f"the name says {suffix} but the content is not a readable {suffix[1:].upper()} file "
                "(renamed, corrupt or truncated).",
            )
        raise DocumentError(name, f"unsupported file type '{suffix or 'none'}'. Supported: {SUPPORTED_FORMATS}.")
    pages = _load_pdf(data, name, limits, dpi) if kind == "pdf" else _load_image(data, name, limits)
    return Document(name, pages, blank_page_warnings(pages))


def _check_pixels(name: str, width: int, height: int, limits: DocumentLimits, where: str = "") -> None:
    if width * height > limits.max_pixels:
        raise DocumentError(
            name,
            f"{where}the image is {width}×{height} = {width * height / 1e6:.0f} megapixels, over the "
            f"{limits.max_pixels / 1e6:.0f} megapixel limit (possible decompression bomb).",
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
                pages.append(Page(index, to_rgb(ImageOps.exif_transpose(image))))
            return pages
        except DocumentError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            # Pillow refuses images far past its own limit before we can read the size.
            raise DocumentError(
                name,
                f"the image is over the {limits.max_pixels / 1e6:.0f} megapixel limit and Pillow's own "
                "safety limit (possible decompression bomb).",
            ) from error
        except UnidentifiedImageError as error:
            raise DocumentError(
                name, "the image is corrupt or truncated (or empty): no decoder can read it."
            ) from error
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise DocumentError(name, f"the image is corrupt or truncated ({error}).") from error


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB as a person sees the image: 16-bit and float values scaled to their range (not
    clipped to white), palettes expanded, transparency laid on white paper, CMYK and 1-bit converted."""
    if image.mode.startswith(_HIGH_BIT_DEPTH_MODES):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        return Image.fromarray(scaled.round().astype(np.uint8), "L").convert("RGB")
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "RGBa", "La"):
        paper = Image.new("RGBA", image.size, "white")
        return Image.alpha_composite(paper, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def blank_page_warnings(pages: list[Page]) -> list[str]:
    """A warning for each page that is one flat colour, so an empty OCR result is never a silent success."""
    blank = [page.index + 1 for page in pages if page.is_blank]
    if not blank:
        return []
    where = (
        f"page {blank[0]} of {len(pages)} looks"
        if len(blank) == 1
        else f"pages {', '.join(map(str, blank))} of {len(pages)} look"
    )
    return [
        Notice(
            f"{where} blank (one flat colour): no text can be read there. If the scan "
            "is not empty, export it again as an 8-bit PNG, JPEG or PDF.",
            BLANK,
        )
    ]


def _text_layer(page) -> str:
    """The page's own text, lines as PDFium finds them, trailing blanks dropped."""
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
    finally:
        textpage.close()
    return "\n".join(line.rstrip() for line in text.replace("\x00", "").splitlines()).strip()


def _load_pdf(data: bytes, name: str, limits: DocumentLimits, dpi: int) -> list[Page]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    with _PDFIUM_LOCK:
        # Opened through the raw API: pypdfium2 reads PDFium's last error even when the load
        # succeeded with zero pages, and reports whatever error an earlier file left behind.
        handle = pdfium_c.FPDF_LoadMemDocument64(data, len(data), None)
        if not handle:
            raise DocumentError(name, _pdf_open_failure(pdfium_c.FPDF_GetLastError(), pdfium_c))
        pdf = pdfium.PdfDocument(handle)
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
                pages.append(Page(index, page.render(scale=scale).to_pil().convert("RGB"), _text_layer(page)))
                page.close()
            return pages
        finally:
            pdf.close()


def _pdf_open_failure(code: int, pdfium_c) -> str:
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return "the PDF is password-protected; save a copy without the password and use that."
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return "the PDF uses a security handler this app cannot open; print it to a new PDF and use that."
    return "the PDF is corrupt or truncated; it cannot be opened."
