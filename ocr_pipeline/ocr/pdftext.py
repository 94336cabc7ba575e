"""`pdf-text`: the text a PDF carries itself, taken as it is instead of read from the page image.

A PDF made digitally (an exported invoice, a letter saved as PDF) holds its exact text; OCR of its
rendered pages can only add errors. A scanned PDF holds text only if the scanner ran its own OCR,
and then it is only as good as that OCR; an image has none. So this engine is chosen, never
picked by `auto`: the result of every other engine says when the PDF has text of its own.
"""

from __future__ import annotations

from PIL import Image

from ..documents import Page
from ..errors import OcrError
from ..notices import BLANK, Notice
from .base import MODES, OcrEngine, OcrLine, PageText


class PdfTextEngine(OcrEngine):
    name = "pdf-text"
    modes = MODES  # the text is what the PDF holds, printed or handwritten
    model = "the PDF's own text (PDFium)"

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        return True, "reads the text a PDF carries itself; nothing to install."

    def recognize(self, image: Image.Image, mode: str = "printed", lang: str = "en") -> PageText:
        raise OcrError("pdf-text takes a PDF page's own text and cannot read an image: choose an OCR engine.")

    def read(self, page: Page, mode: str = "printed", lang: str = "en") -> PageText:
        if not page.text_layer:
            where = f"Page {page.index + 1} carries no text of its own (a scanned page or an image)"
            return PageText("", warnings=[Notice(f"{where}: read it with an OCR engine.", BLANK)])
        return PageText(page.text_layer, [OcrLine(line) for line in page.text_layer.splitlines() if line.strip()])
