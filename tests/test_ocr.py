"""OCR engines on generated documents with known text, and engine selection."""

import re
import threading
from pathlib import Path

import pytest

from ocr_pipeline import samples
from ocr_pipeline.chunking import document_text
from ocr_pipeline.documents import load_document
from ocr_pipeline.errors import EngineUnavailable
from ocr_pipeline.notices import BLANK, ENGINE, TEXT_LAYER
from ocr_pipeline.ocr import ENGINE_NAMES, ENGINE_NOTES, engine_help, engine_status, get_engine, ocr_document
from ocr_pipeline.ocr.tesseract import TesseractEngine

KEY_LINES = ["Invoice # 12345", "Total: $100.00", "Date: 2023-07-15"]


def squash(text: str) -> str:
    """Spacing is layout, not recognition: compare without whitespace."""
    return re.sub(r"\s+", "", text)


def assert_contains_lines(text: str, lines: list[str]) -> None:
    missing = [line for line in lines if squash(line) not in squash(text)]
    assert not missing, f"missing {missing} in:\n{text}"


@pytest.fixture(scope="module")
def invoice_result(invoice_png):
    return ocr_document(load_document(invoice_png, "invoice.png"), "rapidocr")


def test_rapidocr_reads_the_invoice_lines_in_order(invoice_result):
    assert invoice_result.engine == "rapidocr"
    assert_contains_lines(invoice_result.text, KEY_LINES)
    text = squash(invoice_result.text)
    assert text.index("Invoice#12345") < text.index("Date:2023-07-15") < text.index("Total:$100.00")


def test_result_carries_lines_boxes_confidence_and_timing(invoice_result):
    page = invoice_result.pages[0]
    assert len(page.lines) == len(samples.INVOICE_LINES)
    assert all(line.box and 0 < line.confidence <= 1 for line in page.lines)
    # a row of the table is one line, read left to right, not one line per box
    assert any(squash(line.text) == squash("Toner cartridge 1 $60.00") for line in page.lines)
    assert page.seconds > 0
    payload = invoice_result.to_json()
    assert set(payload) >= {"file", "engine", "engine_model", "mode", "pages", "warnings"}
    assert set(payload["pages"][0]) == {"index", "text", "seconds"}


def test_the_result_notes_the_model_version(invoice_result):
    assert invoice_result.engine_model.startswith("rapidocr 3.") and "PP-OCRv6" in invoice_result.engine_model


def test_rapidocr_never_downloads(monkeypatch, invoice_png):
    """The bundled models are named by path: a fresh engine reads a page with every download refused."""
    import requests
    from rapidocr.utils.download_file import DownloadFile

    from ocr_pipeline.ocr.rapid import RapidOcrEngine

    def refuse(*args, **kwargs):
        raise AssertionError("RapidOCR tried to download")

    monkeypatch.setattr(DownloadFile, "run", classmethod(refuse))
    monkeypatch.setattr(requests, "get", refuse)
    text = RapidOcrEngine().recognize(load_document(invoice_png, "invoice.png").pages[0].image).text
    assert_contains_lines(text, KEY_LINES)


@pytest.mark.parametrize("noisy", [False, True], ids=["clean", "noisy"])
def test_receipt_words_keep_their_known_spacing(rapidocr, noisy):
    """Each line of a generated till receipt comes back with its words one space apart: none glued
    (a noisy scan makes the recognizer drop spaces), no number or amount split."""
    image = samples.render_receipt()
    if noisy:
        image = samples.add_scan_noise(image)
    lines = [" ".join(line.text.split()) for line in rapidocr.recognize(image).lines]
    assert lines == [" ".join(line.split()) for line in samples.SPACED_RECEIPT_LINES]


def test_an_upside_down_page_is_read_turned(rapidocr, invoice_png):
    image = load_document(invoice_png, "invoice.png").pages[0].image
    page = rapidocr.recognize(image.rotate(180))
    assert_contains_lines(page.text, KEY_LINES)
    text = squash(page.text)
    assert text.index("Invoice#12345") < text.index("Date:2023-07-15") < text.index("Total:$100.00")
    assert page.warnings == ["The page was upside down; it was read turned by 180°."]
    # the boxes are where the lines are on the page as given: the first line at the bottom
    first, last = page.lines[0].box, page.lines[-1].box
    assert first[1] > last[1] and all(0 <= x <= image.width for x in (first[0], first[2]))
    assert rapidocr.recognize(image).warnings == []


@pytest.mark.parametrize(("angle", "turned"), [(90, "90° clockwise"), (270, "90° counter-clockwise")])
def test_a_page_on_its_side_is_read_turned(rapidocr, invoice_png, angle, turned):
    image = load_document(invoice_png, "invoice.png").pages[0].image.rotate(angle, expand=True)
    page = rapidocr.recognize(image)
    assert_contains_lines(page.text, KEY_LINES)
    text = squash(page.text)
    assert text.index("Invoice#12345") < text.index("Date:2023-07-15") < text.index("Total:$100.00")
    assert page.warnings == [f"The page lay on its side; it was read turned {turned}."]
    # the boxes are where the lines are on the page as given: tall, inside it, the first line at one side
    first, last = page.lines[0].box, page.lines[-1].box
    assert all(box[3] - box[1] > box[2] - box[0] for box in (first, last))
    assert all(0 <= box[0] < box[2] <= image.width and 0 <= box[1] < box[3] <= image.height for box in (first, last))
    assert (first[0] < last[0]) == (angle == 90)


def test_a_mostly_blank_page_is_read_where_its_ink_is(rapidocr):
    """The detector misses the lines of a page that is mostly blank: they are read from the part of
    the page with ink, and their boxes stay where they are on the page."""
    lines = ["Yours sincerely,", "Customer Services"]
    page = load_document(samples.text_pdf_bytes([lines], size=10), "last-page.pdf").pages[0]
    text = rapidocr.recognize(page.image)
    assert [line.text for line in text.lines] == lines
    left, top, _, _ = text.lines[0].box
    assert abs(left - 300) < 40 and abs(top - 270) < 60  # 72 pt from the left, 72 from the top, at 300 dpi


def test_rapidocr_reads_a_noisy_scan(noisy_invoice_png):
    result = ocr_document(load_document(noisy_invoice_png, "noisy.png"), "rapidocr")
    assert_contains_lines(result.text, KEY_LINES)


def test_every_pdf_page_is_read(letter_pdf):
    result = ocr_document(load_document(letter_pdf, "letter.pdf", dpi=150), "rapidocr")
    assert [page.index for page in result.pages] == [0, 1]
    assert_contains_lines(result.pages[0].text, ["Date: 2024-03-01", "$56.20"])
    assert_contains_lines(result.pages[1].text, ["Payment is due by 2024-03-31.", "555-0147"])


def test_progress_reports_each_page(letter_tiff):
    seen = []
    ocr_document(load_document(letter_tiff, "letter.tiff"), "rapidocr", on_page=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 2), (2, 2)]


def test_auto_without_license_runs_rapidocr_and_says_why(invoice_png, monkeypatch):
    monkeypatch.delenv("ASPOSE_LICENSE", raising=False)
    result = ocr_document(load_document(invoice_png, "invoice.png"), "auto")
    assert result.engine == "rapidocr"
    assert "no Aspose license" in result.engine_reason


def test_unsupported_mode_and_language_are_reported_as_warnings(rapidocr, invoice_png):
    result = ocr_document(load_document(invoice_png, "invoice.png"), "rapidocr", mode="handwritten")
    assert any("no handwritten mode" in warning for warning in result.warnings)
    image = load_document(invoice_png, "invoice.png").pages[0].image
    assert rapidocr.recognize(image, lang="de").warnings == []  # one of the model's Latin-script languages
    assert "does not read 'ar'" in rapidocr.recognize(image, lang="ar").warnings[0]


def test_engine_is_shared_and_thread_safe(rapidocr, invoice_png):
    assert get_engine("rapidocr") is rapidocr
    image = load_document(invoice_png, "invoice.png").pages[0].image
    texts = []
    threads = [threading.Thread(target=lambda: texts.append(rapidocr.recognize(image).text)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(texts) == 3 and len(set(texts)) == 1


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(EngineUnavailable, match="unknown engine"):
        get_engine("nonsense")


def test_engine_status_explains_each_engine():
    status = engine_status()
    assert set(status) == {"aspose", "rapidocr", "tesseract", "pdf-text"}
    assert status["rapidocr"][0] is True and status["pdf-text"][0] is True
    assert all(reason for _, reason in status.values())


@pytest.mark.skipif(not TesseractEngine.availability()[0], reason="tesseract binary not installed")
def test_tesseract_reads_the_invoice(invoice_png):
    result = ocr_document(load_document(invoice_png, "invoice.png"), "tesseract")
    assert result.engine == "tesseract"
    assert_contains_lines(result.text, KEY_LINES)
    assert all(line.box for line in result.pages[0].lines)


@pytest.mark.skipif(not TesseractEngine.availability()[0], reason="tesseract binary not installed")
@pytest.mark.parametrize(
    ("angle", "turned"),
    [(90, "on its side; it was read turned 90° clockwise"), (180, "upside down; it was read turned by 180°")],
)
def test_tesseract_reads_a_turned_page_turned(invoice_png, angle, turned):
    """It used to find nothing on a page on its side, and garbage on one upside down."""
    image = load_document(invoice_png, "invoice.png").pages[0].image
    page = TesseractEngine().recognize(image.rotate(angle, expand=True))
    assert_contains_lines(page.text, KEY_LINES)
    assert page.warnings == [f"The page {'lay' if angle == 90 else 'was'} {turned}."]
    first = page.lines[0].box  # where the first line is on the page as given: at its left, or its bottom
    assert (first[0] < image.height / 4) if angle == 90 else (first[1] > image.height / 2)
    assert TesseractEngine().recognize(image).warnings == []


def test_pdf_text_takes_a_digital_pdf_s_own_text_exactly(digital_letter_pdf):
    result = ocr_document(load_document(digital_letter_pdf, "letter.pdf"), "pdf-text")
    assert result.engine == "pdf-text" and result.warnings == []
    assert result.text == document_text(["\n".join(lines) for lines in samples.LETTER_PAGES])
    assert [line.text for line in result.pages[1].lines] == samples.LETTER_PAGES[1]


def test_another_engine_says_the_pdf_has_text_of_its_own(digital_letter_pdf, letter_pdf):
    warnings = ocr_document(load_document(digital_letter_pdf, "letter.pdf", dpi=72), "rapidocr").warnings
    assert [warning.kind for warning in warnings] == [TEXT_LAYER]
    assert "its own text on 2 of 2 page(s)" in warnings[0] and "pdf-text" in warnings[0]
    assert ocr_document(load_document(letter_pdf, "scan.pdf", dpi=72), "rapidocr").warnings == []


def test_pdf_text_on_a_scan_says_to_use_an_ocr_engine(invoice_png):
    result = ocr_document(load_document(invoice_png, "invoice.png"), "pdf-text")
    assert result.text == ""
    assert result.warnings == [
        "Page 1 carries no text of its own (a scanned page or an image): read it with an OCR engine."
    ]
    assert result.warnings[0].kind == BLANK


def test_engine_notes_carry_the_figures_measured_in_the_benchmarks():
    """The dashboard explains the engine choice with ENGINE_NOTES: they must be docs/benchmarks.md's figures."""
    docs = (Path(__file__).parents[1] / "docs" / "benchmarks.md").read_text()
    table = docs[docs.index("## OCR: engines on real receipts") :].split("\n## ")[0]
    assert set(ENGINE_NOTES) == set(ENGINE_NAMES)
    for name, note in ENGINE_NOTES.items():
        assert f"**{name}**: {note.good_at}" in engine_help()
        if note.cer is None:
            continue
        rows = [line for line in table.splitlines() if line.startswith("|") and f"`{name}`" in line.split("|")[1]]
        cells = {cell.strip(" *") for row in rows for cell in row.split("|")}
        assert {f"{note.cer:.3f}", f"{note.cer_any_order:.3f}", f"{note.seconds:.1f}"} <= cells, rows


def test_a_page_without_text_is_a_warning_not_a_silent_empty_success(rapidocr):
    """A 16-bit scan read as white used to give empty text and no word about it."""
    from PIL import Image

    from ocr_pipeline import notices

    picture = Image.linear_gradient("L").resize((400, 300)).convert("RGB")  # shades of grey, no text
    result = ocr_document(load_document(samples.to_bytes(picture), "gradient.png"), "rapidocr")
    assert result.text.strip() == ""
    [warning] = result.warnings
    assert warning.kind == notices.BLANK and "found no text on page 1 of 1" in warning


def test_a_blank_page_is_warned_once(rapidocr):
    from PIL import Image

    result = ocr_document(
        load_document(samples.to_bytes(Image.new("RGB", (300, 200), "white")), "white.png"), "rapidocr"
    )
    assert len(result.warnings) == 1 and "looks blank" in result.warnings[0]


def test_a_blank_page_is_not_sent_to_the_engine(rapidocr, invoice_png, monkeypatch):
    """A duplex scan's empty backs cost a second or more each for nothing (docs/benchmarks.md)."""
    from PIL import Image

    invoice = load_document(invoice_png, "invoice.png").pages[0].image
    pages = [invoice, Image.new("RGB", invoice.size, "white"), invoice]
    data = samples.pdf_bytes(pages)
    read = []
    reading = rapidocr.read
    monkeypatch.setattr(rapidocr, "read", lambda page, **kw: read.append(page.index) or reading(page, **kw))
    result = ocr_document(load_document(data, "duplex.pdf"), "rapidocr")
    assert read == [0, 2] and result.pages[1].text == ""
    assert [str(w) for w in result.warnings if "looks blank" in w] == [
        "page 2 of 3 looks blank (one flat colour): no text can be read there. If the scan is not empty, "
        "export it again as an 8-bit PNG, JPEG or PDF."
    ]
    assert_contains_lines(result.pages[2].text, KEY_LINES)


def test_a_page_s_warning_says_which_page_in_a_longer_document(rapidocr, invoice_png):
    """ "The page was upside down" on a 40-page PDF left the reader to find the page."""
    from PIL import Image

    invoice = load_document(invoice_png, "invoice.png").pages[0].image
    blank = Image.new("RGB", invoice.size, "white")
    pages = [invoice, invoice.rotate(180), blank, blank]
    result = ocr_document(load_document(samples.pdf_bytes(pages), "scan.pdf"), "rapidocr", mode="handwritten")
    assert [str(w) for w in result.warnings] == [
        "pages 3, 4 of 4 look blank (one flat colour): no text can be read there. If the scan is not empty, "
        "export it again as an 8-bit PNG, JPEG or PDF.",
        "RapidOCR has no handwritten mode; the page was read as printed text (pages 1, 2).",
        "The page was upside down; it was read turned by 180° (page 2).",
    ]
    assert [w.kind for w in result.warnings] == [BLANK, ENGINE, ENGINE]
    assert result.pages[1].warnings[-1] == "The page was upside down; it was read turned by 180°."


def test_a_page_far_thinner_than_long_is_read_not_refused(rapidocr):
    """RapidOCR scales the longer side to 2,000 pixels and failed where the shorter came to nothing."""
    from PIL import Image, ImageDraw

    strip = Image.new("RGB", (4000, 12), "white")
    ImageDraw.Draw(strip).line((0, 6, 4000, 6), fill="black")  # a rule: ink, so the engine is asked
    assert rapidocr.recognize(strip).text == ""


def test_notices_keep_their_kind_through_pickling():
    import pickle

    from ocr_pipeline.notices import TRUNCATED, Notice

    copy = pickle.loads(pickle.dumps(Notice("cut short", TRUNCATED)))
    assert copy == "cut short" and copy.kind == TRUNCATED
