"""Batches: every upload and every zip entry becomes a row; archives are read one entry at a time."""

import io
import time
import tracemalloc
import zipfile

import pytest

from ocr_pipeline.batch import BatchRow, batch_zip, expand_inputs, run_batch
from ocr_pipeline.config import DocumentLimits
from ocr_pipeline.ocr.base import OcrPage, OcrResult

MIB = 2**20


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _fake_ocr(document, data, on_page=None):
    return OcrResult(
        document.name, "fake", "printed", "en", [OcrPage(0, f"{len(data)} bytes", [], 0.0)], list(document.warnings)
    )


def test_traversal_names_in_a_zip_get_a_row_under_a_clean_name(invoice_png):
    """Entries named ../../etc/evil.png used to vanish: '..' was taken for a dotfile."""
    bundle = _zip(
        {
            "../../etc/evil.png": invoice_png,
            "/abs/x.png": invoice_png,
            "ok/.DS_Store": b"x",
            "__MACOSX/ok/._a.png": b"x",
        }
    )
    inputs = expand_inputs([("../../up/bundle.zip", bundle)])
    assert [item.name for item in inputs] == ["bundle.zip/etc/evil.png", "bundle.zip/abs/x.png"]
    rows = list(run_batch(inputs, _fake_ocr))
    assert [row.error for row in rows] == ["", ""]
    assert all(".." not in name for name in zipfile.ZipFile(io.BytesIO(batch_zip(rows))).namelist())


def test_an_entry_that_fails_is_named_in_its_error_as_in_its_row():
    rows = list(run_batch(expand_inputs([("mixed.zip", _zip({"scans/empty.png": b""}))]), _fake_ocr))
    assert [(row.file, row.error) for row in rows] == [
        ("mixed.zip/scans/empty.png", "mixed.zip/scans/empty.png: the file is empty (0 bytes).")
    ]


def test_an_uploaded_name_is_cleaned(invoice_png):
    assert [item.name for item in expand_inputs([("../../a/../scan.png", invoice_png)])] == ["scan.png"]


def test_zip_entries_are_read_one_at_a_time():
    """A 20 x 8 MiB zip (about 160 KB packed) used to be unpacked whole before the first file started."""
    entry = 8 * MIB
    bundle = _zip({f"scan-{index:02}.png": bytes(entry) for index in range(20)})
    assert len(bundle) < MIB
    tracemalloc.start()
    try:
        inputs = expand_inputs([("big.zip", bundle)], DocumentLimits(max_bytes=16 * MIB))
        after_listing = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        rows = list(run_batch(inputs, _fake_ocr))
        during_batch = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(rows) == 20 and all("not a readable PNG" in row.error for row in rows)
    assert after_listing < 2 * MIB, "listing an archive must not unpack it"
    assert during_batch < 3 * entry, f"peak {during_batch / MIB:.0f} MiB: more than one entry was held at once"


def test_an_entry_over_the_limit_is_a_row_not_a_read():
    bundle = _zip({"huge.png": bytes(3 * MIB)})
    [item] = expand_inputs([("a.zip", bundle)], DocumentLimits(max_bytes=MIB))
    assert item.read is None and "over the 1 MiB limit" in item.error


def test_a_blank_page_is_a_warning_in_its_row():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (300, 200), 255).save(buffer, "PNG")
    [row] = run_batch(expand_inputs([("white.png", buffer.getvalue())]), _fake_ocr)
    assert row.error == "" and "looks blank" in row.summary()["warnings"]


def test_summary_has_a_warnings_column():
    assert "warnings" in BatchRow("x").summary()


def test_with_a_server_several_files_are_corrected_at_once_and_rows_keep_their_order(invoice_png):
    import threading
    import time
    from types import SimpleNamespace

    running, most = [0], [0]
    lock = threading.Lock()

    def correct(text):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.3)
        with lock:
            running[0] -= 1
        return SimpleNamespace(
            corrected=text.upper(), prompt="general", changes=1, rejected_chunks=0, warnings=[], to_json=dict
        )

    inputs = expand_inputs([(f"f{index}.png", invoice_png) for index in range(4)] + [("bad.png", b"nope")])
    rows = list(run_batch(inputs, _fake_ocr, correct, concurrency=3))
    assert [row.file for row in rows] == ["f0.png", "f1.png", "f2.png", "f3.png", "bad.png"]
    assert most[0] >= 2, "corrections should overlap on a server"
    assert all(row.corrected_text and row.changes == 1 for row in rows[:4]) and "not a readable PNG" in rows[4].error


def test_a_failed_correction_is_its_rows_error():
    def correct(text):
        raise RuntimeError("server gone")

    [row] = run_batch(expand_inputs([("a.png", _png())]), _fake_ocr, correct, concurrency=2)
    assert "unexpected failure (RuntimeError: server gone)" in row.error and row.ocr_text


def _png() -> bytes:
    from ocr_pipeline import samples

    return samples.to_bytes(samples.render_lines(["Total 12.50"]))


def test_an_office_file_is_one_row_that_says_its_type_not_a_folder_of_xml(invoice_png):
    """A .docx is a zip inside: it used to be unpacked into a row per XML part."""
    docx = _zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"})
    inputs = expand_inputs([("letter.docx", docx), ("scans", _zip({"a.png": invoice_png}))])
    assert [item.name for item in inputs] == ["letter.docx", "scans/a.png"]  # a zip without a name is still read
    [row] = run_batch(inputs[:1], _fake_ocr)
    assert "unsupported file type '.docx'" in row.error


def test_a_stopped_batch_keeps_the_files_done_and_lists_the_rest_as_not_processed(invoice_png):
    inputs = expand_inputs([(f"f{index}.png", invoice_png) for index in range(4)])
    asked = []

    def should_stop():
        asked.append(len(asked))
        return len(asked) > 2  # Stop pressed while the second file was read

    rows = list(run_batch(inputs, _fake_ocr, lambda text: _corrected(text), should_stop=should_stop))
    assert [row.file for row in rows] == ["f0.png", "f1.png", "f2.png", "f3.png"]
    assert [row.stopped for row in rows] == [False, False, True, True]
    assert rows[1].corrected_text and not rows[2].ocr_text and not rows[2].error
    assert rows[2].summary()["error"] == "not processed: the batch was stopped before this file"
    with zipfile.ZipFile(io.BytesIO(batch_zip(rows))) as archive:
        names = archive.namelist()
    assert "f1.png.ocr.txt" in names and not any(name.startswith("f2.png") for name in names)
    assert "summary.json" in names


def test_an_interrupt_in_the_batch_s_progress_stops_it_after_that_file(invoice_png):
    """The Batch page's wiring: Streamlit's rerun signal, raised where the progress is drawn, is kept
    by RunControl, the batch stops before the next file, and its rows reach the next run."""
    import streamlit as st

    from dashboard.keys import BATCH_ROWS
    from dashboard.run_control import RunControl, wait_for_stopping_run
    from tests.test_run_control import StreamlitRerun

    def draw(position, count, name, done, total):
        if position == 1 and done == 1:
            raise StreamlitRerun  # Stop clicked as the second file finished

    inputs = expand_inputs([(f"f{index}.png", invoice_png) for index in range(4)])
    with pytest.raises(StreamlitRerun):
        with RunControl() as control:
            rows = run_batch(inputs, _fake_ocr, None, control.quiet(draw), should_stop=control.should_stop)
            control.save({BATCH_ROWS: list(rows)})
    wait_for_stopping_run()
    assert [row.stopped for row in st.session_state[BATCH_ROWS]] == [False, False, True, True]


def _corrected(text):
    from types import SimpleNamespace

    return SimpleNamespace(
        corrected=text.upper(), prompt="general", changes=1, rejected_chunks=0, warnings=[], to_json=dict
    )


def test_a_correction_stopped_part_way_is_a_warning_in_its_row(invoice_png):
    """A file whose chunks were not all corrected must not look like a clean row with 0 changes."""
    from ocr_pipeline.correction import correct_text
    from tests.test_correction import DOCUMENT, ScriptedBackend, fix_look_alikes

    def stopped_correction(text):  # Stop pressed before the file's first chunk
        return correct_text(DOCUMENT, ScriptedBackend(fix_look_alikes), token_budget=8, should_stop=lambda: True)

    [row] = run_batch(expand_inputs([("a.png", invoice_png)]), _fake_ocr, stopped_correction)
    assert row.changes == 0 and row.rejected_chunks == 0 and not row.error
    assert "Stopped: 0 of 4 chunks were corrected" in row.summary()["warnings"]


def test_while_a_server_corrects_the_batch_says_how_far_and_stop_reaches_the_corrections(invoice_png):
    """A server's corrections run in worker threads, which may not draw: the batch, waiting for them in
    the page's thread, reports files corrected there, and a Stop raised where that is drawn ends each
    correction after its chunk running."""
    import threading

    import streamlit as st

    from dashboard.keys import BATCH_ROWS
    from dashboard.run_control import RunControl, wait_for_stopping_run
    from ocr_pipeline.correction import correct_text
    from tests.test_correction import DOCUMENT, ScriptedBackend
    from tests.test_run_control import StreamlitRerun

    page_thread, reports = threading.current_thread(), []

    def draw(done, sent):
        assert threading.current_thread() is page_thread
        reports.append((done, sent))
        if len(reports) == 3:
            raise StreamlitRerun  # Stop clicked while the server corrects

    inputs = expand_inputs([(f"f{index}.png", invoice_png) for index in range(3)])
    with pytest.raises(StreamlitRerun):
        with RunControl() as control:

            def answer_once_stopped(chunk):  # a slow server: no chunk is done before Stop is clicked
                deadline = time.monotonic() + 5
                while not control.should_stop() and time.monotonic() < deadline:
                    time.sleep(0.01)
                return chunk

            def correct(text):  # 4 chunks, Stop checked before each, as the page's corrector does
                backend = ScriptedBackend(answer_once_stopped)
                return correct_text(DOCUMENT, backend, token_budget=8, should_stop=control.should_stop)

            rows = run_batch(
                inputs,
                _fake_ocr,
                correct,
                concurrency=3,
                on_correcting=control.quiet(draw),
                should_stop=control.should_stop,
            )
            control.save({BATCH_ROWS: list(rows)})
    wait_for_stopping_run()
    assert reports[0] == (0, 3)  # three files sent, none corrected yet
    rows = st.session_state[BATCH_ROWS]
    assert [row.stopped for row in rows] == [False] * 3 and not any(row.error for row in rows)  # every file was read
    assert all("Stopped: 1 of 4 chunks" in row.summary()["warnings"] for row in rows)  # ... its correction cut short
