"""Aspose.OCR through its worker process: real recognition, trial mode, missing resources, and
workers that die, none of which may take the test process down.

The engine tests skip, with the engine's own reason, where Aspose cannot run (package missing,
OpenSSL 1.1 not installed by scripts/install_openssl11.sh).
"""

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ocr_pipeline import samples
from ocr_pipeline.errors import EngineUnavailable, OcrError
from ocr_pipeline.ocr.aspose import AsposeEngine, lines_with_boxes, strip_trial_banner

EXPECTED = ["Invoice # 12345", "Total: $100.00", "Date: 2023-07-15"]
# Trial mode returns only the start of a page, so the lines under test come first, followed by
# enough text for the cut to fall after them.
PAGE_LINES = [
    *EXPECTED,
    "Thank you for your business.",
    "Please pay within thirty days.",
    "Questions: call our office.",
]


@pytest.fixture(scope="module")
def engine():
    """An unlicensed engine with downloads off, whatever the environment says."""
    available, reason = AsposeEngine.availability()
    if not available:
        pytest.skip(f"Aspose.OCR cannot run here: {reason}")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("ASPOSE_LICENSE", raising=False)
        engine = AsposeEngine(allow_downloads=False, areas="lean")  # lean: Aspose's mode for a few plain lines
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def page_image():
    return samples.render_lines(PAGE_LINES)


@pytest.fixture(scope="module")
def line_image():
    return samples.render_lines(EXPECTED[:1])


@pytest.fixture(scope="module")
def page(engine, page_image):
    return engine.recognize(page_image)


def test_trial_banner_is_stripped_whole_or_cut_short():
    banner = " ************* Trial Licenses ************* \n"
    text = "Invoice # 12345\nTotal: $1\n ************* Trial Li\n ************* \n" + banner
    assert strip_trial_banner(text) == ("Invoice # 12345\nTotal: $1", True)
    assert strip_trial_banner("Total: 5 * 4 = 20\n") == ("Total: 5 * 4 = 20", False)


def test_lines_take_boxes_only_where_aspose_reported_that_line():
    detected = [["Invoice # 12345", [1, 2, 30, 12], 0.0], ["Total: $100.00", [1, 20, 28, 30], 0.9]]
    lines = lines_with_boxes("Invoice # 12345\nTotal: $1", detected)
    assert [(line.text, line.box, line.confidence) for line in lines] == [
        ("Invoice # 12345", (1, 2, 30, 12), None),
        ("Total: $1", None, None),
    ]


def test_availability_names_the_missing_openssl(monkeypatch, tmp_path):
    monkeypatch.setenv("ASPOSE_OPENSSL_DIR", str(tmp_path))
    available, reason = AsposeEngine.availability()
    assert not available
    assert "install_openssl11.sh" in reason or "not installed" in reason


def test_availability_does_not_claim_to_know_the_license(monkeypatch):
    """It said "No license is set (ASPOSE_LICENSE)" also to a user who had uploaded one in the sidebar."""
    monkeypatch.delenv("ASPOSE_LICENSE", raising=False)
    available, reason = AsposeEngine.availability()
    assert "license" not in reason.lower()


def test_printed_page_is_read_with_line_boxes(page, page_image):
    for expected in EXPECTED:
        assert expected in page.text
    first = next(line for line in page.lines if line.text == EXPECTED[0])
    left, top, right, bottom = first.box
    assert 0 <= left < right <= page_image.width and 0 <= top < bottom <= page_image.height


def test_trial_mode_is_reported_and_its_banner_removed(engine, page):
    assert not engine.is_licensed
    assert "Trial" not in page.text and "*****" not in page.text
    assert len(page.warnings) == 1
    assert "trial mode" in page.warnings[0] and "300 characters" in page.warnings[0]
    assert "ASPOSE_LICENSE" in page.warnings[0]


def test_handwriting_offline_names_the_missing_resource(engine):
    try:
        result = engine.recognize(samples.render_note(), mode="handwritten")
    except OcrError as error:
        message = str(error)
        assert "aspose-ocr-" in message and ".ocr'" in message
        assert "ASPOSE_ALLOW_DOWNLOADS=1" in message and "github.com/aspose-ocr/resources" in message
    else:  # the resource was put in place by hand
        assert result.text.strip()


def test_unknown_language_is_an_ocr_error(engine, page_image):
    with pytest.raises(OcrError, match="no language 'XX'"):
        engine.recognize(page_image, lang="xx")


def test_threads_share_one_worker(engine, line_image):
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(engine.recognize, [line_image, line_image]))
    assert all("Invoice" in result.text for result in results)


def test_a_rejected_license_is_reported_with_its_reason(engine, tmp_path, line_image):
    license_file = tmp_path / "Aspose.OCR.lic"
    license_file.write_text("<License><Data>not a license</Data></License>")
    rejected = AsposeEngine(license_path=str(license_file), allow_downloads=False, areas="lean")
    try:
        assert not rejected.is_licensed
        warning = rejected.recognize(line_image).warnings[0]
        assert f"the license {license_file} was not accepted" in warning
    finally:
        rejected.close()


def test_a_worker_killed_between_pages_is_replaced(engine, line_image):
    engine.recognize(line_image)
    old_pid = engine.worker_pid
    os.kill(old_pid, signal.SIGKILL)
    try:
        engine.recognize(line_image)
    except OcrError as error:  # the kill may land after the engine saw the worker alive
        assert "worker process" in str(error)
    engine.recognize(line_image)
    assert engine.worker_pid not in (None, old_pid)


def test_a_worker_aborting_mid_page_is_an_error_and_the_next_page_works(engine, page_image, line_image):
    engine.recognize(line_image)  # a running worker, so the page below is pure work
    abort = threading.Timer(0.3, os.kill, (engine.worker_pid, signal.SIGABRT))
    abort.start()
    with pytest.raises(OcrError, match="SIGABRT"):
        engine.recognize(page_image)
    abort.join()
    assert "Invoice" in engine.recognize(line_image).text


def test_a_page_over_the_time_limit_stops_the_worker(engine, page_image):
    hasty = AsposeEngine(allow_downloads=False, timeout_s=0.2)
    try:
        with pytest.raises(OcrError, match="no answer within 0.2 s"):
            hasty.recognize(page_image)
        assert hasty.worker_pid is None
    finally:
        hasty.close()


def test_a_runtime_that_aborts_at_start_is_unavailable_not_fatal(engine, monkeypatch, page_image):
    """Forcing ICU on makes the bundled .NET Core 3.1 abort() where its ICU is too new (Debian 12)."""
    monkeypatch.setenv("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "0")
    doomed = AsposeEngine(allow_downloads=False)
    try:
        doomed.recognize(page_image)
    except EngineUnavailable as error:
        assert "SIGABRT" in str(error)
    else:
        pytest.skip(".NET found a usable ICU here, so nothing aborted")
    finally:
        doomed.close()
