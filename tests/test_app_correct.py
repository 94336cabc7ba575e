"""AppTest, Correct page: upload, OCR, bad files, correction with the tiny model, diff, verdicts, downloads."""

import io
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ocr_pipeline import samples
from ocr_pipeline.chunking import document_text
from ocr_pipeline.diff import changed_word_count

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def start(page: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120).run()
    if page:
        app.switch_page(page).run()
    return app


def messages(app: AppTest, kind: str = "error") -> list[str]:
    return [element.value for element in getattr(app, kind)]


def assert_no_exception(app: AppTest) -> None:
    assert not app.exception, [element.value for element in app.exception]


@pytest.fixture(autouse=True)
def app_home(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.setenv("OCR_PIPELINE_HOME", str(tmp_path))
    monkeypatch.setenv("OCR_MODEL", str(tiny_model_dir))


def test_first_screen_explains_what_to_do():
    app = start()
    assert_no_exception(app)
    assert app.title[0].value == "Correct a document"
    assert "Drop an invoice" in messages(app, "info")[0]
    assert [box.label for box in app.sidebar.selectbox][:2] == ["Engine", "Mode"]


def test_upload_then_ocr_shows_editable_text(noisy_invoice_png):
    app = start()
    app.file_uploader[0].set_value(("invoice.png", noisy_invoice_png, "image/png")).run()
    assert_no_exception(app)
    assert app.image[0].captions[0].startswith("invoice.png — page 1 of 1")
    app.button(key="correct:run_ocr").click().run()
    assert_no_exception(app)
    text = app.text_area(key="correct.text")
    assert "12345" in text.value and "Total" in text.value
    assert any("rapidocr" in caption.value for caption in app.caption)
    text.set_value(text.value + "\nEdited by hand").run()
    assert app.text_area(key="correct.text").value.endswith("Edited by hand")


def test_work_survives_a_visit_to_another_page(invoice_png):
    app = start()
    app.file_uploader[0].set_value(("invoice.png", invoice_png, "image/png")).run()
    app.button(key="correct:run_ocr").click().run()
    app.text_area(key="correct.text").set_value("my edit").run()
    app.switch_page("pages/batch.py").run()
    app.switch_page("pages/correct.py").run()
    assert_no_exception(app)
    assert app.text_area(key="correct.text").value == "my edit"


def test_same_file_is_never_read_twice(invoice_png, monkeypatch):
    """Pages are cached by content and settings for every session: the engine reads a page once."""
    import ocr_pipeline.ocr as ocr

    calls = []
    original = ocr.read_page
    monkeypatch.setattr(ocr, "read_page", lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    app = start()
    app.file_uploader[0].set_value(("again.png", invoice_png + b"", "image/png")).run()
    app.button(key="correct:run_ocr").click().run()
    app.button(key="correct:run_ocr").click().run()
    assert_no_exception(app)
    assert len(calls) <= 1  # 0 when an earlier test already read these bytes


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("notes.png", b"just text, not an image", "not a readable PNG"),
        ("broken.pdf", b"%PDF-1.7\n garbage", "PDF is corrupt"),
        ("blank.png", b"\x89PNG\r\n\x1a\n", "corrupt or truncated"),
    ],
)
def test_bad_upload_is_a_plain_message_not_a_crash(name, data, expected):
    app = start()
    app.file_uploader[0].set_value((name, data, "application/octet-stream")).run()
    assert_no_exception(app)
    assert any(expected in message for message in messages(app)), messages(app)


def test_password_protected_pdf_says_what_to_do(letter_pdf):
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(letter_pdf)))
    writer.encrypt("secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    app = start()
    app.file_uploader[0].set_value(("locked.pdf", buffer.getvalue(), "application/pdf")).run()
    assert_no_exception(app)
    assert any("password-protected" in message for message in messages(app))


def test_multi_page_pdf_has_a_page_picker(letter_pdf):
    app = start()
    app.file_uploader[0].set_value(("letter.pdf", letter_pdf, "application/pdf")).run()
    assert_no_exception(app)
    picker = app.select_slider(key="correct.page")
    assert app.image[0].captions[0].startswith("letter.pdf — page 1 of 2")
    picker.set_value(1).run()
    assert app.image[0].captions[0].startswith("letter.pdf — page 2 of 2")


def test_a_digital_pdf_says_it_has_its_own_text_and_pdf_text_takes_it(digital_letter_pdf):
    app = start()
    app.file_uploader[0].set_value(("letter.pdf", digital_letter_pdf, "application/pdf")).run()
    app.button(key="correct:run_ocr").click().run()
    assert any("carries its own text on 2 of 2 page(s)" in message for message in messages(app, "warning"))
    app.session_state["settings.engine"] = "pdf-text"  # the sidebar's engine
    app.button(key="correct:run_ocr").click().run()
    assert_no_exception(app)
    assert app.text_area(key="correct.text").value == document_text(["\n".join(page) for page in samples.LETTER_PAGES])
    assert not messages(app, "warning")


def test_multi_page_pdf_is_corrected_page_by_page(letter_pdf, tiny_model_dir, monkeypatch):
    """The OCR text keeps its page breaks (a blank line in the box), so each chunk knows its page."""
    monkeypatch.setenv("OCR_MODEL", str(tiny_model_dir))
    app = start()
    app.file_uploader[0].set_value(("letter.pdf", letter_pdf, "application/pdf")).run()
    app.button(key="correct:run_ocr").click().run()
    text = app.text_area(key="correct.text").value
    assert text.count("\n\f\n") == 1 and text.index("\f") > text.index("Dear")
    app.button(key="correct:correct").click().run()
    assert_no_exception(app)
    pages = list(app.dataframe[0].value["page"])
    assert pages == sorted(pages) and {1, 2} <= set(pages)


@pytest.fixture(scope="module")
def corrected_app(invoice_png, tiny_model_dir):
    """One invoice read and corrected with the tiny model (random weights: the guard refuses its answer)."""
    import os

    os.environ["OCR_MODEL"] = str(tiny_model_dir)
    app = start()
    app.file_uploader[0].set_value(("invoice.png", invoice_png, "image/png")).run()
    app.button(key="correct:run_ocr").click().run()
    app.button(key="correct:correct").click().run()
    return app


def test_correction_shows_figures_diff_verdicts_and_final_text(corrected_app):
    app = corrected_app
    assert_no_exception(app)
    assert not messages(app)
    figures = {metric.label: metric.value for metric in app.metric}
    assert set(figures) >= {"Words changed", "Chunks refused", "Time", "Speed"}
    diff = [element.proto.body for element in app.html]
    assert any("ocr-diff-columns" in body for body in diff) and any('class="ocr-diff"' in body for body in diff)
    result = app.session_state["correct.result"]
    assert result.answer != result.corrected  # the random model's answer was refused: a tab shows all of it
    assert [tab.label for tab in app.tabs][:3] == ["Side by side", "Inline", "The model's answer"]
    assert app.tabs[2].caption[0].value.startswith("Everything the model proposed, before the guard")
    table = app.dataframe[0].value
    assert {"chunk", "verdict", "accept", "reasons", "OCR text", "model's answer"} <= set(table.columns)
    assert table["verdict"].str.contains("rejected|partial|accepted|unchanged").all()
    final = app.code[-1].value
    assert "12345" in final and "$100.00" in final  # whatever the model said, the guard kept the numbers


def test_downloads_carry_the_report(corrected_app):
    buttons = {button.proto.label: button for button in corrected_app.get("download_button")}
    assert set(buttons) == {"Corrected text (.txt)", "Report (.json)", "Report (.md)"}


def test_accept_toggle_overrides_the_guard(corrected_app):
    app = corrected_app
    result = app.session_state["correct.result"]
    chunk = next(chunk for chunk in result.chunks if chunk.candidate is not None)
    accept = chunk.text != chunk.candidate  # flip what the guard decided
    app.session_state["correct.overrides"] = {chunk.index: accept}
    app.run()
    assert_no_exception(app)
    final = app.code[-1].value
    assert (chunk.candidate in final) if accept else (chunk.raw in final)
    figures = {metric.label: metric for metric in app.metric}  # the figures follow the override
    assert int(figures["Words changed"].value) == changed_word_count(result.raw, final)
    assert figures["Chunks refused"].delta == "1 overridden by you"
    assert app.button(key="correct:reset")
    app.button(key="correct:reset").click().run()  # reruns the review fragment only
    assert app.session_state["correct.overrides"] == {}
    app.run()  # a whole run again, for the tests after this one (AppTest keeps only the fragment's elements)


def test_a_correction_with_no_model_answer_keeps_the_ocr_text(invoice_png):
    # a blank text (or Stop pressed while queued) leaves no chunk with an answer: nothing to accept, no crash
    app = start()
    app.file_uploader[0].set_value(("invoice.png", invoice_png, "image/png")).run()
    app.button(key="correct:run_ocr").click().run()
    app.text_area(key="correct.text").set_value("   \n  ").run()
    app.button(key="correct:correct").click().run()
    assert_no_exception(app)
    assert any("No chunk has a model answer" in caption.value for caption in app.caption)
    assert {button.proto.label for button in app.get("download_button")} >= {"Corrected text (.txt)"}


def test_ground_truth_gives_cer_and_wer_before_and_after(corrected_app):
    app = corrected_app
    app.text_area(key="correct.truth").set_value("\n".join(samples.INVOICE_LINES)).run()
    assert_no_exception(app)
    figures = {metric.label: metric for metric in app.metric}
    assert "CER" in figures and "WER" in figures and figures["CER"].value.endswith("%")
    quality = app.session_state["correct.result"].quality("\n".join(samples.INVOICE_LINES))
    points = round((quality.cer_after - quality.cer_before) * 100, 1)
    assert figures["CER"].delta == (f"{points:+.1f} points" if points else "no change")  # no red arrow for +0.0


def test_a_model_that_cannot_be_found_is_explained(invoice_png, monkeypatch):
    monkeypatch.setenv("OCR_MODEL", "/nonexistent/model-folder")
    app = start()
    app.file_uploader[0].set_value(("invoice.png", invoice_png, "image/png")).run()
    app.button(key="correct:run_ocr").click().run()
    app.button(key="correct:correct").click().run()
    assert_no_exception(app)
    assert any("no such file or folder" in message for message in messages(app)), messages(app)


def test_the_prompt_follows_the_document_and_names_the_one_that_suits_it(invoice_png):
    note = samples.to_bytes(samples.render_lines(["Dear Anna,", "the meeting moved to Friday.", "Thanks, Tom"]))
    app = start()
    app.file_uploader[0].set_value(("note.png", note, "image/png")).run()
    app.button(key="correct:run_ocr").click().run()
    assert_no_exception(app)
    assert app.selectbox(key="prompt:correct").value == "general"  # a note: no invoice's example for it
    assert not [caption for caption in app.caption if "suits the" in caption.value]
    app.selectbox(key="prompt:correct").set_value("medical").run()
    app.file_uploader[0].set_value(("invoice.png", invoice_png, "image/png")).run()
    app.button(key="correct:run_ocr").click().run()
    assert app.selectbox(key="prompt:correct").value == "medical"  # the user's choice stays across files ...
    hint = [caption.value for caption in app.caption if "suits the" in caption.value]
    assert hint and hint[0].startswith("This document suits the **financial** prompt")  # ... and the fit is named
