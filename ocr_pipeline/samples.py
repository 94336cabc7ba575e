"""Sample documents the project renders itself: for the demo page, the tests and the benchmarks.

Everything is drawn with Pillow from known text, so a test can assert what OCR must find and
nothing here carries someone else's licence.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .chunking import document_text

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/TTF"))

INVOICE_LINES = [
    "ACME Supplies Ltd.",
    "12 Harbour Road, Springfield",
    "Invoice # 12345",
    "Date: 2023-07-15",
    "Description            Qty    Amount",
    "Printer paper A4         2    $40.00",
    "Toner cartridge          1    $60.00",
    "Total: $100.00",
    "Thank you for your business.",
]

RECEIPT_LINES = [
    "CORNER CAFE",
    "Receipt 0042  Table 7",
    "15/07/2023 12:41",
    "Flat white          4.50",
    "Croissant           3.20",
    "Orange juice        3.80",
    "TOTAL              11.50",
    "CASH               20.00",
    "CHANGE              8.50",
]

# A till receipt in a printer's monospaced font, with its spacing known: words one space apart,
# columns several spaces apart, amounts whose "." has a wide cell of its own. OCR must give back
# each line's words with single spaces, neither glued nor split.
SPACED_RECEIPT_LINES = [
    "SANYU SUPPLY SDN BHD (1135772-K)",
    "NO.31G&33G, JALAN SETIA INDAH X,",
    "U13/X 40170 SETIA ALAM",
    "TEL : 03-3362 4395",
    "DATE : 25/12/2018 8:13:39 PM",
    "2 X 5.20                10.40",
    "1 X 3.70                 3.70",
    "TOTAL RM                14.10",
    "THANK YOU FOR YOUR PATRONAGE",
    "PLEASE COME AGAIN.",
]

NOTE_LINES = [
    "Dear Anna,",
    "the meeting moved to Friday",
    "at 10:30 in room 4B.",
    "Please bring the 2023 report.",
    "Thanks, Tom",
]

LETTER_PAGES = [
    [
        "Springfield Water Board",
        "Date: 2024-03-01",
        "Dear customer,",
        "your account 778-2201 shows a balance",
        "of $56.20 for the period ending",
        "29 February 2024.",
    ],
    [
        "Page 2",
        "Payment is due by 2024-03-31.",
        "Call 555-0147 with any questions.",
        "Yours sincerely,",
        "Customer Services",
    ],
]


@lru_cache(maxsize=8)
def font(size: int = 36, style: str = "", family: str = "DejaVuSans") -> ImageFont.FreeTypeFont:
    """DejaVu where the system has it, else Pillow's bundled scalable font."""
    name = f"{family}{'-' + style if style else ''}.ttf"
    for folder in _FONT_DIRS:
        if (folder / name).exists():
            return ImageFont.truetype(str(folder / name), size)
    return ImageFont.load_default(size=size)


def render_lines(
    lines: list[str], size: int = 36, style: str = "", width: int = 1240, margin: int = 80, family: str = "DejaVuSans"
) -> Image.Image:
    """A white page with one text line per entry, like a clean scan at ~150 dpi."""
    face = font(size, style, family)
    line_height = int(size * 1.6)
    image = Image.new("RGB", (width, margin * 2 + line_height * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for row, text in enumerate(lines):
        draw.text((margin, margin + row * line_height), text, fill="black", font=face)
    return image


def render_receipt(lines: list[str] = SPACED_RECEIPT_LINES) -> Image.Image:
    """A narrow till receipt in DejaVu Sans Mono, the look of a receipt printer."""
    return render_lines(lines, size=26, width=620, margin=40, family="DejaVuSansMono")


def add_scan_noise(image: Image.Image, seed: int = 7, angle: float = 1.2) -> Image.Image:
    """A cheap photocopy: slight rotation, blur and salt-and-pepper specks (deterministic)."""
    rng = random.Random(seed)
    noisy = image.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor="white")
    noisy = noisy.filter(ImageFilter.GaussianBlur(0.8))
    draw = ImageDraw.Draw(noisy)
    for _ in range(noisy.width * noisy.height // 900):
        x, y = rng.randrange(noisy.width), rng.randrange(noisy.height)
        draw.point((x, y), fill="black" if rng.random() < 0.5 else "white")
    return noisy


def render_note(lines: list[str] = NOTE_LINES, seed: int = 3) -> Image.Image:
    """A handwritten-style note: oblique letters that wander a little, on tinted paper."""
    rng = random.Random(seed)
    face = font(40, "Oblique")
    image = Image.new("RGB", (1100, 140 + 90 * len(lines)), (250, 246, 232))
    draw = ImageDraw.Draw(image)
    for row, text in enumerate(lines):
        x, y = 70 + rng.randint(-8, 8), 70 + row * 90
        for char in text:
            draw.text((x, y + rng.randint(-3, 3)), char, fill=(20, 30, 90), font=face)
            x += face.getlength(char) + rng.uniform(-0.5, 1.5)
    return image


def to_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def pdf_bytes(pages: list[Image.Image], dpi: int = 150) -> bytes:
    """A raster PDF, one image per page, as a scanner would produce."""
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", resolution=dpi, save_all=True, append_images=pages[1:])
    return buffer.getvalue()


def text_pdf_bytes(pages: list[list[str]], size: float = 12.0) -> bytes:
    """A PDF made digitally: each page's lines as Helvetica text, which the PDF carries as text."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pdf = pdfium.PdfDocument.new()
    try:
        for lines in pages:
            page = pdf.new_page(612, 792)  # US letter, in points
            for row, line in enumerate(lines):
                text = pdfium_c.FPDFPageObj_NewTextObj(pdf.raw, b"Helvetica", size)
                wide = ctypes.create_string_buffer((line + "\0").encode("utf-16-le"))
                pdfium_c.FPDFText_SetText(text, ctypes.cast(wide, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
                pdfium_c.FPDFPageObj_Transform(text, 1, 0, 0, 1, 72, 720 - row * size * 1.5)
                pdfium_c.FPDFPage_InsertObject(page.raw, text)
            pdfium_c.FPDFPage_GenerateContent(page.raw)
            page.close()
        buffer = io.BytesIO()
        pdf.save(buffer)
        return buffer.getvalue()
    finally:
        pdf.close()


def tiff_bytes(pages: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return buffer.getvalue()


@dataclass(frozen=True)
class DemoSample:
    """A document the demo runs end to end, with how to read it and what it really says."""

    title: str
    file_name: str
    data: bytes
    mode: str  # the OCR mode: printed or handwritten
    ground_truth: str


def demo_documents() -> list[DemoSample]:
    """The dashboard's demo documents, drawn by this module."""
    letter = document_text(["\n".join(page) for page in LETTER_PAGES])
    return [
        DemoSample(
            "Noisy invoice",
            "noisy_invoice.png",
            to_bytes(add_scan_noise(render_lines(INVOICE_LINES))),
            "printed",
            "\n".join(INVOICE_LINES),
        ),
        DemoSample(
            "Receipt",
            "receipt.jpg",
            to_bytes(render_lines(RECEIPT_LINES, size=30, width=760), "JPEG"),
            "printed",
            "\n".join(RECEIPT_LINES),
        ),
        DemoSample(
            "Handwritten-style note",
            "note.png",
            to_bytes(render_note()),
            "handwritten",
            "\n".join(NOTE_LINES),
        ),
        DemoSample(
            "Two-page letter (PDF)",
            "letter.pdf",
            pdf_bytes([render_lines(page) for page in LETTER_PAGES]),
            "printed",
            letter,
        ),
    ]
