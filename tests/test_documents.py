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
    assert document.kind == "image"
    assert len(document.pages) == 1
    assert document.pages[0].image.mode == "RGB"
    assert document.pages[0].image.size == image.size


def test_multi_frame_tiff_gives_every_frame(letter_tiff):
    document = load_document(letter_tiff, "letter.tiff")
    assert [page.index for page in document.pages] == [0, 1]


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
    assert load_document(letter_pdf, "download.bin").kind == "pdf"


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
