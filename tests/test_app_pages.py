"""AppTest, the other pages: Batch, Models & resources, Compare prompts, Demo, Evaluate."""

import io
import json
import os
import re
import zipfile
from pathlib import Path

import pytest

from streamlit.testing.v1 import AppTest

from dashboard import keys
from ocr_pipeline import samples

from tests.test_app_correct import assert_no_exception, messages, start


@pytest.fixture(autouse=True)
def app_home(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.setenv("OCR_PIPELINE_HOME", str(tmp_path))
    monkeypatch.setenv("OCR_MODEL", str(tiny_model_dir))


def test_batch_rows_for_good_and_bad_files_and_one_zip(invoice_png, letter_pdf):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("scans/letter.pdf", letter_pdf)
        bundle.writestr("scans/readme.txt", "not a document")
    app = start("pages/batch.py")
    app.file_uploader[0].set_value(
        [
            ("invoice.png", invoice_png, "image/png"),
            ("bad.png", b"nope", "image/png"),
            ("bundle.zip", archive.getvalue(), "application/zip"),
        ]
    ).run()
    app.button(key="batch:run").click().run()
    assert_no_exception(app)
    table = app.dataframe[0].value
    assert list(table["file"]) == [
        "invoice.png",
        "bad.png",
        "bundle.zip/scans/letter.pdf",
        "bundle.zip/scans/readme.txt",
    ]
    assert list(table["pages"]) == [1, 0, 2, 0]
    assert table["error"][0] == "" and "not a readable PNG" in table["error"][1] and "skipped" in table["error"][3]
    assert messages(app, "warning")[0] == "4 file(s): 2 read, 2 failed, 0 with warnings (see the table)."
    assert not messages(app, "success") and app.download_button(key="batch:download")
    assert "changes" not in table.columns  # nothing was corrected: no column of blanks
    # another page and back: the uploader has forgotten its files, the session keeps the results
    app.file_uploader[0].set_value([]).run()
    assert_no_exception(app)
    assert list(app.dataframe[0].value["file"]) == list(table["file"]) and app.download_button(key="batch:download")
    assert "last batch" in messages(app, "info")[0]


def test_batch_can_correct_and_release_after_each_file(invoice_png):
    app = start("pages/batch.py")
    app.file_uploader[0].set_value([("a.png", invoice_png, "image/png"), ("b.png", invoice_png, "image/png")]).run()
    app.toggle(key="batch.correct").set_value(True).run()
    app.toggle(key="batch.release").set_value(True).run()
    app.button(key="batch:run").click().run()
    assert_no_exception(app)
    table = app.dataframe[0].value
    assert list(table["error"]) == ["", ""]
    assert messages(app, "success") == ["2 file(s): 2 read, 0 failed, 0 with warnings (see the table)."]
    assert table["changes"].notna().all() and table["rejected chunks"].notna().all()
    assert list(table["prompt"]) == ["financial", "financial"]  # the one that suits each invoice
    from dashboard.model_state import ledger

    assert not ledger().loaded  # released after the last file
    assert ledger().events[-1].startswith(f"{Path(os.environ['OCR_MODEL']).name} released (Batch: after each file)")


def test_a_stopped_batch_says_how_many_files_were_not_processed():
    from dashboard.keys import BATCH_ROWS
    from ocr_pipeline.batch import BatchRow

    app = start("pages/batch.py")
    app.session_state[BATCH_ROWS] = [BatchRow("a.png", pages=1), BatchRow("b.png", stopped=True)]
    app.run()
    assert_no_exception(app)
    assert messages(app, "warning") == [
        "2 file(s): 1 read, 0 failed, 0 with warnings (see the table). Stopped: 1 file(s) not processed."
    ]
    assert list(app.dataframe[0].value["error"]) == ["", "not processed: the batch was stopped before this file"]


def test_the_stop_button_goes_once_the_batch_is_done(invoice_png):
    """Stop is drawn while the batch runs (tests/test_browser.py presses it); beside a finished table it
    would stop nothing."""
    app = start("pages/batch.py")
    app.file_uploader[0].set_value([("a.png", invoice_png, "image/png")]).run()
    app.button(key="batch:run").click().run()
    assert_no_exception(app)
    assert list(app.dataframe[0].value["file"]) == ["a.png"]
    assert "batch:stop" not in [button.key for button in app.button]


def test_the_demo_model_is_one_cache_entry_whichever_page_loads_it():
    def script():
        import streamlit as st

        from dashboard import keys, model_state

        st.session_state[keys.MODEL] = "demo"  # the user's choice, backend "auto"
        st.write(str(model_state.current_choice() == model_state.demo_choice()))

    app = AppTest.from_function(script).run()
    assert_no_exception(app)
    assert app.markdown[0].value == "True"  # not a second copy beside the Demo page's


def test_models_page_loads_shows_the_device_map_and_releases():
    app = start("pages/models.py")
    assert_no_exception(app)
    assert app.slider(key="models.gpu_layers_off").disabled  # no CUDA here: explained, not offered
    app.button(key="models:load").click().run()
    assert_no_exception(app)
    assert any("2 layers: 2 on cpu" in success.value for success in app.success), messages(app, "success")
    devices = app.dataframe[-1].value
    assert list(devices.columns) == ["module", "device"] and set(devices["device"]) == {"cpu"}
    assert {metric.label for metric in app.metric} >= {"Process memory (RSS)", "GPU memory"}
    app.button(key="models:release").click().run()
    assert_no_exception(app)
    report = [caption.value for caption in app.caption if caption.value.startswith("Released.")]
    assert report and "before: RSS" in report[0] and "after: RSS" in report[0]
    assert app.button(key="models:release").disabled


def test_models_page_explains_a_missing_download():
    app = start("pages/models.py")
    app.selectbox(key="models.pick").set_value("Qwen/Qwen2.5-0.5B-Instruct").run()
    app.button(key="models:download").click().run()
    assert_no_exception(app)
    assert any("downloading is off" in message for message in messages(app)), messages(app)


def test_models_page_says_why_a_model_folder_cannot_be_read(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    for folder, message in ((tmp_path / "notes.txt", "is a file, not a folder"), ("y" * 300, "cannot be read")):
        app = start("pages/models.py")
        app.text_input(key=keys.MODEL_FOLDER).input(str(folder)).run()
        assert_no_exception(app)
        assert any(message in text for text in messages(app)), messages(app)


@pytest.mark.parametrize("page", ["pages/correct.py", "pages/compare.py"])
def test_a_page_without_an_upload_can_start_with_the_sample_invoice(page):
    app = start(page)
    app.button(key=f"{Path(page).stem}:sample").click().run()
    assert_no_exception(app)
    assert app.image[0].captions[0].startswith(samples.demo_documents()[0].file_name)


def test_compare_runs_prompts_side_by_side_and_exports(invoice_png):
    app = start("pages/compare.py")
    app.file_uploader[0].set_value(("invoice.png", invoice_png, "image/png")).run()
    app.button(key="compare:run_ocr").click().run()
    app.number_input(key="compare.count").set_value(3).run()
    # the prompt that suits an invoice first, then the others: not a medical prompt for a letter
    assert [app.selectbox(key=f"prompt:compare.{column}").value for column in range(3)] == [
        "financial",
        "general",
        "medical",
    ]
    app.button(key="compare:run").click().run()
    assert_no_exception(app)
    table = app.dataframe[0].value
    assert len(table) == 3
    assert {
        "changes",
        "rejected chunks",
        "numbers touched",
        "sure repairs",
        "good record",
        "seconds",
        "tokens/s",
    } <= set(table.columns)
    assert table["numbers touched"].eq(0).all()  # the strict guard never lets a number change
    assert not table["good record"].any()  # the tiny random model earns none
    app.radio(key="compare.winner").set_value(table["run"][1]).run()
    labels = {button.proto.label for button in app.get("download_button")}
    assert labels == {"Comparison (.md)", "Comparison (.json)"}


def test_compare_with_a_second_model_that_is_not_there_says_which(invoice_png):
    app = start("pages/compare.py")
    app.file_uploader[0].set_value(("invoice.png", invoice_png, "image/png")).run()
    app.button(key="compare:run_ocr").click().run()
    app.toggle(key="compare.two_models").set_value(True).run()
    app.text_input(key="compare.second_model").set_value("no-such/model").run()
    assert "Model: no-such/model" in [caption.value for caption in app.caption]  # the repo id, not 'model'
    app.button(key="compare:run").click().run()
    assert_no_exception(app)
    assert any("'no-such/model' is not downloaded" in message for message in messages(app))


def test_saved_prompt_joins_the_team_library(invoice_png):
    from ocr_pipeline.prompts import load_custom_prompts

    app = start("pages/compare.py")
    app.file_uploader[0].set_value(("invoice.png", invoice_png, "image/png")).run()
    app.button(key="compare:run_ocr").click().run()
    app.text_area(key="prompt_text:compare.0").set_value("Fix OCR errors in receipts; keep every number.").run()
    app.button(key="compare:run").click().run()
    app.text_input(key="compare.save.A:save_name").set_value("receipts")  # in a form: sent with Save
    app.button(key="compare.save.A:save").click().run()
    assert_no_exception(app)
    assert load_custom_prompts()["receipts"].instruction == "Fix OCR errors in receipts; keep every number."
    assert "receipts (team)" in app.selectbox(key="prompt:compare.0").options  # the pickers drawn again, with it
    assert any("Saved 'receipts'" in toast.value for toast in app.toast)


def test_demo_runs_a_sample_end_to_end():
    """On the real demo model: llama.cpp reads the sample in seconds (the set-up builds it)."""
    app = start("pages/demo.py")
    assert_no_exception(app)
    assert len(app.segmented_control(key="demo.sample").options) == 4
    app.button(key="demo:run").click().run()
    assert_no_exception(app)
    assert not messages(app)
    assert [metric.label for metric in app.metric] == ["Character error rate", "Character error rate"]
    assert any("ocr-diff" in element.proto.body for element in app.html)
    assert any(text.value.startswith("**Chunk") for text in app.markdown) or app.success


@pytest.fixture
def transcribed_scans(tmp_path, invoice_png):
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "invoice.png").write_bytes(invoice_png)
    (folder / "invoice.gt.txt").write_text("\n".join(samples.INVOICE_LINES))
    (folder / "invoice.key.json").write_text(json.dumps({"total": "$100.00", "date": "2023-07-15"}))
    return folder


def test_evaluate_compares_ocr_engines_on_a_folder(transcribed_scans):
    app = start("pages/evaluate.py")
    assert_no_exception(app)
    assert app.button(key="evaluate:run").disabled  # no folder yet
    app.text_input(key="evaluate.folder").set_value(str(transcribed_scans)).run()
    app.multiselect(key="evaluate.engines").set_value(["rapidocr", "rapidocr-plain"]).run()
    app.button(key="evaluate:run").click().run()
    assert_no_exception(app)
    assert not messages(app)
    table = app.dataframe[0].value
    assert list(table["engine"]) == ["rapidocr", "rapidocr-plain"]
    assert table["CER"][0] < 0.05 and table["total found"][0]
    assert "s/page (median)" in app.code[0].value
    assert {button.proto.label for button in app.get("download_button")} == {"Download JSON", "Download CSV"}
    app.switch_page("pages/demo.py").run()
    app.switch_page("pages/evaluate.py").run()  # back: the inputs are those the results came from
    assert app.text_input(key="evaluate.folder").value == str(transcribed_scans)
    assert app.multiselect(key="evaluate.engines").value == ["rapidocr", "rapidocr-plain"]


def test_evaluate_measures_correction_on_uploaded_pairs():
    pairs = "\n".join(
        json.dumps(row)
        for row in [
            {"ocr": "Tbe total was $1O0.00", "gt": "The total was $100.00"},
            {"ocr": "Invoice # 12345 from ACME", "gt": "Invoice # 12345 from ACME"},
        ]
    )
    app = start("pages/evaluate.py")
    app.segmented_control(key="evaluate.source").set_value("OCR / ground-truth pairs (.jsonl)").run()
    app.file_uploader(key="evaluate:pairs").set_value(("pairs.jsonl", pairs.encode(), "application/json")).run()
    app.button(key="evaluate:run").click().run()
    assert_no_exception(app)
    table = app.dataframe[0].value
    assert len(table) == 2
    assert (table["CER guarded"] <= table["CER OCR"]).all()  # the guard never makes a pair worse
    assert "Correction of 2 pairs" in app.code[0].value


def test_evaluate_explains_bad_input(tmp_path):
    app = start("pages/evaluate.py")
    app.text_input(key="evaluate.folder").set_value(str(tmp_path / "nowhere")).run()
    app.button(key="evaluate:run").click().run()
    assert_no_exception(app)
    assert any("no such folder" in message for message in messages(app)), messages(app)
    app.segmented_control(key="evaluate.source").set_value("OCR / ground-truth pairs (.jsonl)").run()
    app.file_uploader(key="evaluate:pairs").set_value(("pairs.jsonl", b"{not json", "application/json")).run()
    app.button(key="evaluate:run").click().run()
    assert_no_exception(app)
    assert any("line 1: not JSON" in message for message in messages(app)), messages(app)


def test_an_uploaded_license_is_stored_by_content_and_once(tmp_path):
    """An upload named ../../traversal_probe.lic was written outside the data folder, on every rerun.

    (AppTest stops drawing the sidebar after a sidebar upload, so this reads the session state; the
    browser test sees the same in Chromium.)"""
    license_text = b"<License><Data><Products><Product>Aspose.OCR</Product></Products></Data></License>"
    app = start()
    uploader = next(element for element in app.sidebar.file_uploader if element.key == "settings.license_upload")
    uploader.set_value(("../../traversal_probe.lic", license_text, "application/octet-stream")).run()
    assert_no_exception(app)
    written = list(tmp_path.rglob("*.lic"))
    assert len(written) == 1 and written[0].parent == tmp_path / "aspose" and written[0].name.startswith("license-")
    # nowhere outside the data folder either (not only this test's: other tests write licenses of their own)
    assert not list(tmp_path.parent.rglob("traversal_probe.lic"))
    assert not (tmp_path.parent.parent / "traversal_probe.lic").exists()
    assert app.session_state["settings.aspose_license"] == str(written[0])
    stamp = written[0].stat().st_mtime_ns
    app.run()
    app.switch_page("pages/batch.py").run()
    assert written[0].stat().st_mtime_ns == stamp, "a rerun must not write the license again"
    assert app.session_state["settings.aspose_license"] == str(written[0])


def test_a_file_that_is_no_license_is_refused(tmp_path):
    app = start()
    uploader = next(element for element in app.sidebar.file_uploader if element.key == "settings.license_upload")
    uploader.set_value(("x.lic", b"\x00\x01\x02", "application/octet-stream")).run()
    assert_no_exception(app)
    assert "not an Aspose license" in app.session_state["settings.license_error"]
    assert "settings.aspose_license" not in app.session_state
    assert not list(tmp_path.rglob("*.lic"))


def test_at_most_two_models_stay_loaded_and_the_sidebar_says_what_was_evicted():
    from dashboard.model_state import ledger, max_loaded_models

    assert max_loaded_models() == 2
    app = start("pages/models.py")
    for layers in ("all", 1, 2):  # three distinct choices of the same tiny model
        app.session_state["settings.gpu_layers"] = layers
        app.button(key="models:load").click().run()
        assert_no_exception(app)
    assert len(ledger().loaded) == 2
    assert [choice.gpu_layers for choice in ledger().loaded] == [1, 2]
    assert "evicted: at most 2 models stay loaded" in ledger().events[-1]
    app.button(key="models:release").click().run()
    assert not ledger().loaded and "released (Release)" in ledger().events[-1]


def test_a_broken_prompts_file_can_be_moved_aside_with_one_click(tmp_path):
    """The button was keyed on id(error): a new error each rerun, so the click was lost."""
    (tmp_path / "prompts.json").write_text("{ not json")
    app = start()
    app.file_uploader[0].set_value(
        ("invoice.png", samples.to_bytes(samples.render_lines(["Total 12.50"])), "image/png")
    )
    app.run()
    app.button(key="correct:run_ocr").click().run()
    assert any("prompts" in message for message in messages(app))
    app.button(key=f"move-aside:{tmp_path / 'prompts.json'}").click().run()
    assert_no_exception(app)
    assert not (tmp_path / "prompts.json").exists() and list(tmp_path.glob("prompts.json*.bak"))


def test_the_batch_corrector_reports_each_chunk_done(tiny_model_dir):
    from dashboard.correction_view import corrector
    from dashboard.model_state import ModelChoice
    from ocr_pipeline.prompts import PRESETS

    done = []
    correct, concurrency = corrector(
        PRESETS["general"],
        ModelChoice(str(tiny_model_dir), backend="transformers"),
        "test",
        lambda *step: done.append(step),
    )
    result = correct("Dear Sir,\n\nthe rneeting is on Monday.")
    assert concurrency == 1 and done and done[-1] == (len(result.chunks), len(result.chunks))


def test_a_batch_gives_each_file_the_prompt_that_suits_it_or_the_one_picked(invoice_png):
    note = samples.to_bytes(samples.render_lines(["Dear Anna,", "the meeting moved to Friday.", "Thanks, Tom"]))
    app = start("pages/batch.py")
    app.file_uploader[0].set_value([("invoice.png", invoice_png, "image/png"), ("note.png", note, "image/png")]).run()
    app.toggle(key="batch.correct").set_value(True).run()
    assert app.toggle(key="batch.suited_prompt").value
    assert "prompt:batch" not in [box.key for box in app.selectbox]  # no picker: each file gets its own
    app.button(key="batch:run").click().run()
    assert_no_exception(app)
    assert list(app.dataframe[0].value["prompt"]) == ["financial", "general"]
    app.toggle(key="batch.suited_prompt").set_value(False).run()
    app.selectbox(key="prompt:batch").set_value("table").run()
    app.button(key="batch:run").click().run()
    assert list(app.dataframe[0].value["prompt"]) == ["table", "table"]


def test_what_the_guard_refused_shows_what_the_model_proposed():
    """A reason alone ('a line with numbers dropped') does not show what was kept out: the proposal does."""

    def script():
        import streamlit as st

        from dashboard import correction_view
        from ocr_pipeline.correction import correct_text
        from ocr_pipeline.llm.base import Generation

        class Inventive:  # drops the first page's lines; answers nothing on the second page
            name = "inventive"
            supports_batching = False

            def count_tokens(self, text):
                return len(text.split())

            def generate(self, requests, max_new_tokens, on_token=None):
                text = requests[0][-1]["content"]
                answer = "" if "Signed" in text else "Total due: $1,440.00"
                return [Generation(answer, new_tokens=3, seconds=0.01)]

        document = ["Invoice 12345\nTota1: $100.00", "Signed by the chair."]
        st.session_state.result = correct_text(document, Inventive())
        correction_view.refusals(st.session_state.result)

    app = AppTest.from_function(script, default_timeout=60).run()
    assert_no_exception(app)
    result = app.session_state["result"]
    assert result.corrected == "Invoice 12345\nTota1: $100.00\n\f\nSigned by the chair."  # both kept as read
    assert [expander.label for expander in app.expander] == ["What the model proposed, against the OCR text"] * 2
    proposal = re.sub(r"<[^>]+>", "", app.expander[0].get("html")[0].proto.body)  # the text, both sides
    assert "12345" in proposal and "due:" in proposal  # what was dropped beside what was invented
    assert app.expander[1].caption[0].value == "The model's answer was empty."
