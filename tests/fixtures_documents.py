"""Generated documents with known text, shared by the OCR, CLI and dashboard tests."""

import pytest

from ocr_pipeline import samples


@pytest.fixture(scope="session")
def invoice_png() -> bytes:
    return samples.to_bytes(samples.render_lines(samples.INVOICE_LINES))


@pytest.fixture(scope="session")
def noisy_invoice_png() -> bytes:
    return samples.to_bytes(samples.add_scan_noise(samples.render_lines(samples.INVOICE_LINES)))


@pytest.fixture(scope="session")
def letter_pdf() -> bytes:
    return samples.pdf_bytes([samples.render_lines(page) for page in samples.LETTER_PAGES])


@pytest.fixture(scope="session")
def digital_letter_pdf() -> bytes:
    """The letter as a PDF made digitally: it carries its text, exactly LETTER_PAGES."""
    return samples.text_pdf_bytes(samples.LETTER_PAGES)


@pytest.fixture(scope="session")
def letter_tiff() -> bytes:
    return samples.tiff_bytes([samples.render_lines(page) for page in samples.LETTER_PAGES])


@pytest.fixture(scope="session")
def rapidocr():
    from ocr_pipeline.ocr import get_engine

    return get_engine("rapidocr")
