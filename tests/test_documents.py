"""Document loading: every supported format becomes pages, every bad file a specific message."""

import io

import pytest
from PIL import Image

from ocr_pipeline import samples
from ocr_pipeline.config import DocumentLimits
from ocr_pipeline.documents import load_document
from ocr_pipeline.errors import DocumentError


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP", "TIFF"])
def test_every_image_format_gives_one_rgb_page(fmt):
    image = samples.render_lines(["Hello 123"])
    document = load_document(samples.to_bytes(image, fmt), f"scan.{fmt.lower()}")
    assert len(document.pages) == 1
    assert document.pages[0].image.mode == "RGB"
    assert document.pages[0].image.size == image.size


def test_multi_frame_tiff_gives_every_frame(letter_tiff):
    document = load_document(letter_tiff, "letter.tiff")
    assert [page.index for page in document.pages] == [0, 1]


def test_a_digital_pdf_keeps_each_page_s_own_text_and_a_scan_has_none(digital_letter_pdf, letter_pdf):
    digital = load_document(digital_letter_pdf, "letter.pdf")
    assert [page.text_layer for page in digital.pages] == ["\n".join(lines) for lines in samples.LETTER_PAGES]
    assert digital.pages_with_text_layer == 2 and digital.pages[0].image.width == 2550  # rendered all the same
    scanned = load_document(letter_pdf, "scan.pdf")
    assert [page.text_layer for page in scanned.pages] == ["", ""] and scanned.pages_with_text_layer == 0


def test_pdf_pages_render_at_the_requested_dpi(letter_pdf):
    at_150 = load_document(letter_pdf, "letter.pdf", dpi=150)
    at_300 = load_document(letter_pdf, "letter.pdf", dpi=300)
    assert len(at_150.pages) == len(at_300.pages) == 2
    # the sample PDF was saved at 150 dpi, so 150 dpi reproduces the original pixels
    original = samples.render_lines(samples.LETTER_PAGES[0]).size
    assert at_150.pages[0].image.width == pytest.approx(original[0], abs=2)
    assert at_150.pages[0].image.height == pytest.approx(original[1], abs=2)
    assert at_300.pages[0].image.width == pytest.approx(2 * at_150.pages[0].image.width, abs=2)


def test_content_decides_format_not_name(letter_pdf):
    assert len(load_document(letter_pdf, "download.bin", dpi=72).pages) == 2


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (200, 100), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    page = load_document(buffer.getvalue(), "photo.jpg").pages[0]
    assert page.image.size == (100, 200)


def _error(data: bytes, name: str, limits: DocumentLimits | None = None) -> str:
    with pytest.raises(DocumentError) as caught:
        load_document(data, name, limits)
    message = str(caught.value)
    assert message.startswith(f"{name}: ")
    return message


def test_empty_file():
    assert "empty" in _error(b"", "blank.png")


def test_text_file_renamed_png():
    assert "not a readable PNG" in _error(b"just some notes, not an image\n", "notes.png")


def test_truncated_image(invoice_png):
    assert "corrupt or truncated" in _error(invoice_png[: len(invoice_png) // 3], "cut.png")


def test_corrupt_pdf():
    assert "PDF is corrupt" in _error(b"%PDF-1.7\n garbage that is no pdf", "broken.pdf")


def test_unsupported_type_lists_what_is_supported():
    message = _error(b"PK\x03\x04 a zip file", "archive.docx")
    assert "unsupported file type '.docx'" in message
    assert "PNG, JPEG, TIFF" in message and "PDF" in message


def test_password_protected_pdf(letter_pdf):
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(letter_pdf)))
    writer.encrypt("secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert "password-protected" in _error(buffer.getvalue(), "locked.pdf")


def test_size_limit(invoice_png):
    assert "over the 0 MiB limit" in _error(invoice_png, "big.png", DocumentLimits(max_bytes=1000))


@pytest.mark.parametrize("side", [8000, 14000])  # 64 MP: our limit; 196 MP: Pillow refuses at open
def test_pixel_limit_refuses_decompression_bombs(side):
    bomb = samples.to_bytes(Image.new("1", (side, side)))
    assert len(bomb) < 100_000
    assert "megapixel limit" in _error(bomb, "bomb.png", DocumentLimits(max_pixels=50_000_000))


def test_page_limit(letter_pdf, letter_tiff):
    limits = DocumentLimits(max_pages=1)
    assert "2 pages, over the 1-page limit" in _error(letter_pdf, "letter.pdf", limits)
    assert "2 frames, over the 1-page limit" in _error(letter_tiff, "letter.tiff", limits)


def test_pdf_pixel_limit_applies_at_render_dpi(letter_pdf):
    limits = DocumentLimits(max_pixels=2_000_000)
    assert load_document(letter_pdf, "letter.pdf", limits, dpi=72).pages
    assert "at 600 dpi" in _error(letter_pdf, "letter.pdf", DocumentLimits(max_pixels=2_000_000, dpi=600))


# --- high bit depth and unusual colour modes -------------------------------------------------------------


def _png_rgb16(pixels) -> bytes:
    """A 16-bit-per-channel RGB PNG written by hand (Pillow cannot write one)."""
    import struct
    import zlib

    height, width, _ = pixels.shape
    rows = b"".join(b"\x00" + pixels[row].astype(">u2").tobytes() for row in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _tiff_rgb16(pixels) -> bytes:
    """A baseline little-endian TIFF with three 16-bit samples per pixel, written by hand."""
    import struct

    height, width, _ = pixels.shape
    image = pixels.astype("<u2").tobytes()
    entries = [
        (256, 3, 1, width),
        (257, 3, 1, height),
        (258, 3, 3, None),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, None),
        (277, 3, 1, 3),
        (278, 3, 1, height),
        (279, 4, 1, len(image)),
        (284, 3, 1, 1),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    bits_offset = 8 + ifd_size
    data_offset = bits_offset + 6
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = bits_offset if tag == 258 else data_offset if tag == 273 else value
        ifd += struct.pack("<HHI", tag, kind, count) + (
            struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        )
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + struct.pack("<HHH", 16, 16, 16) + image


@pytest.fixture(scope="module")
def gray_scan():
    """An 8-bit greyscale rendering of text: what every high-bit-depth variant must come back as."""
    import numpy as np

    return np.asarray(samples.render_lines(["Total 12.50", "Paid 2024-03-01"]).convert("L"))


def _gray(page_image):
    import numpy as np

    assert page_image.mode == "RGB"
    return np.asarray(page_image.convert("L")).astype(int)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grayscale_is_scaled_not_clipped(gray_scan, fmt):
    """Before the fix every value above 255 became white: a blank page and empty OCR."""
    import numpy as np

    buffer = io.BytesIO()
    Image.fromarray(gray_scan.astype(np.uint16) * 257).save(buffer, fmt)  # full 16-bit range
    document = load_document(buffer.getvalue(), f"scan16.{fmt.lower()}")
    assert np.abs(_gray(document.pages[0].image) - gray_scan).max() <= 1
    assert document.warnings == []


def test_12_bit_data_in_a_16_bit_file_uses_its_own_range(gray_scan):
    import numpy as np

    buffer = io.BytesIO()
    Image.fromarray((gray_scan.astype(np.int32) * 4095 // 255).astype(np.uint16)).save(
        buffer, "PNG"
    )  # 0..4095, dark if read as 16-bit
    restored = _gray(load_document(buffer.getvalue(), "scan12.png").pages[0].image)
    assert np.abs(restored - gray_scan).max() <= 2


@pytest.mark.parametrize("writer", [_png_rgb16, _tiff_rgb16], ids=["png", "tiff"])
def test_16_bit_rgb_keeps_its_picture(gray_scan, writer):
    import numpy as np

    rgb16 = np.repeat(gray_scan[:, :, None], 3, axis=2).astype(np.uint16) * 257
    document = load_document(writer(rgb16), "scan48.bin")
    assert np.abs(_gray(document.pages[0].image) - gray_scan).max() <= 1


@pytest.mark.parametrize("mode", ["P", "P transparent", "CMYK", "1", "LA", "RGBA"])
def test_unusual_modes_keep_dark_text_on_light_paper(gray_scan, mode):
    """Transparent backgrounds lie on white paper (converting RGBA to RGB naively made them black)."""
    import numpy as np

    ink = gray_scan < 128
    if mode in ("LA", "RGBA"):
        image = Image.new("LA", ink.shape[::-1], (0, 0))  # transparent black paper; the ink is what is opaque
        image.putalpha(Image.fromarray(np.where(ink, 255, 0).astype(np.uint8)))
        image = image.convert(mode)
    elif mode == "P transparent":
        image = Image.fromarray(ink.astype(np.uint8), "P")  # index 0: paper, 1: ink, both black
        image.putpalette([0, 0, 0, 0, 0, 0])
        image.info["transparency"] = 0
    else:
        image = Image.fromarray(gray_scan).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, "TIFF" if mode == "CMYK" else "PNG", **({"transparency": 0} if mode == "P transparent" else {}))
    restored = _gray(load_document(buffer.getvalue(), "odd.png").pages[0].image)
    assert restored[gray_scan > 200].mean() > 200, "the paper must stay light"
    assert restored[gray_scan < 60].mean() < 100, "the ink must stay dark"


@pytest.mark.parametrize("fill", [0, 255, 40_000])
def test_a_flat_page_gets_a_warning(fill):
    import numpy as np

    buffer = io.BytesIO()
    Image.fromarray(np.full((120, 200), fill, np.uint16 if fill > 255 else np.uint8)).save(buffer, "PNG")
    document = load_document(buffer.getvalue(), "flat.png")
    assert len(document.warnings) == 1 and "page 1 of 1 looks blank" in document.warnings[0]


def test_blank_pages_of_a_pdf_are_named(letter_pdf):
    pages = [samples.render_lines(samples.LETTER_PAGES[0]), Image.new("RGB", (600, 800), "white")]
    document = load_document(samples.pdf_bytes(pages), "half-empty.pdf", dpi=72)
    assert document.warnings and document.warnings[0].startswith("page 2 of 2 looks blank")


def test_a_real_scan_has_no_blank_warning(noisy_invoice_png):
    assert load_document(noisy_invoice_png, "invoice.png").warnings == []


# --- messages that must not mislead ----------------------------------------------------------------------


def test_zero_by_zero_png_message_names_no_python_object():
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + header
        + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    )
    message = _error(png + b"\x00" * 16, "zero.png")
    assert "BytesIO" not in message and "object at 0x" not in message
    assert "no decoder can read it" in message


def _pypdf_bytes(*, pages: int, password: str | None = None) -> bytes:
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    if password:
        writer.encrypt(password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_zero_page_pdf_says_so_even_after_a_password_protected_one():
    """PDFium's last error is process-wide: it used to leak from one file (and user) to the next."""
    zero, locked = _pypdf_bytes(pages=0), _pypdf_bytes(pages=1, password="pw")
    assert _error(zero, "zero.pdf") == "zero.pdf: the PDF has no pages."
    assert "password-protected" in _error(locked, "locked.pdf")
    assert _error(zero, "zero.pdf") == "zero.pdf: the PDF has no pages."
    assert "PDF is corrupt" in _error(b"%PDF-1.7\n garbage", "broken.pdf")
    assert _error(zero, "zero.pdf") == "zero.pdf: the PDF has no pages."


def test_pdfs_render_safely_from_several_threads(letter_pdf):
    """PDFium is not thread-safe; the Streamlit server decodes uploads of several sessions at once."""
    from concurrent.futures import ThreadPoolExecutor

    locked = _pypdf_bytes(pages=1, password="pw")

    def load(index: int) -> str:
        if index % 2:
            return _error(locked, "locked.pdf")
        return str(len(load_document(letter_pdf, "letter.pdf", dpi=72).pages))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(load, range(16)))
    assert results[0::2] == ["2"] * 8
    assert all("password-protected" in message for message in results[1::2])
