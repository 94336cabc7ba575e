"""Four people at once on one server: nobody's work is lost, nobody sees another's text.

`streamlit run` on a free port with the tiny test model; four Chromium sessions each upload their
own document, run OCR and press Correct at about the same time, so one generates and three queue.
The first to finish presses Release while the others are still running or queued. Then another
session presses Stop half-way through a long document. Each session must end with its own
corrected text (or its own OCR text, chunk by chunk, with the reason), no page may show an
exception, and the server must still answer.
"""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from ocr_pipeline import samples
from tests.fixtures_browser import VIEWPORT, served, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSIONS = 4
MARKERS = {1: "6234", 2: "7468", 3: "8592", 4: "9736", 5: "5827"}  # no 0/O or 1/l for the OCR to confuse
FAILURE_TEXTS = ("Something went wrong", "was released", "Traceback", "Correction failed")


def _document(number: int, lines: int = 34) -> bytes:
    """A page of text whose reference number is this session's own."""
    body = [f"Reference {MARKERS[number]} for session {number}"]
    body += [f"Item {index} delivered to warehouse {number} on 2024-03-{index % 28 + 1:02d}" for index in range(lines)]
    return samples.to_bytes(samples.render_lines(body, size=22, width=1100))


def _start(page, url: str, upload) -> None:
    page.goto(url)
    page.get_by_text("Correct a document").wait_for(timeout=60_000)
    wait_idle(page)
    page.locator("[data-testid='stMain'] input[type=file]").set_input_files(str(upload))
    page.get_by_role("button", name="Run OCR").click(timeout=60_000)


def _failures(page) -> list[str]:
    text = page.locator("[data-testid='stMain']").inner_text() + page.locator("[data-testid='stSidebar']").inner_text()
    return [failure for failure in FAILURE_TEXTS if failure in text] + (
        ["exception box"] if page.locator("[data-testid='stException']").count() else []
    )


@pytest.fixture(scope="module")
def load_server(tmp_path_factory, tiny_model_dir):
    with served(tmp_path_factory.mktemp("load-home"), str(tiny_model_dir)) as url:
        yield url


def test_four_sessions_and_a_release_mid_run(load_server, browser, tmp_path):
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(SESSIONS)]
    pages = [context.new_page() for context in contexts]
    uploads = []
    for number, page in enumerate(pages, start=1):
        upload = tmp_path / f"session-{number}.png"
        upload.write_bytes(_document(number))
        uploads.append(upload)
        _start(page, load_server, upload)
    for page in pages:
        page.get_by_label("OCR text (editable)").wait_for(timeout=180_000)
        wait_idle(page)
    for number, page in enumerate(pages, start=1):
        assert MARKERS[number] in page.get_by_label("OCR text (editable)").input_value()

    clicked = {}
    for number, page in enumerate(pages, start=1):
        page.get_by_role("button", name="Correct", exact=True).click()
        clicked[number] = time.perf_counter()
    queued = set()
    finished: dict[int, float] = {}
    released_while_busy = None
    deadline = time.monotonic() + 600
    while len(finished) < SESSIONS and time.monotonic() < deadline:
        for number, page in enumerate(pages, start=1):
            if number in finished:
                continue
            if page.get_by_text("Queued:", exact=False).count():
                queued.add(number)
            if page.locator(".ocr-diff-columns").count():
                finished[number] = time.perf_counter() - clicked[number]
                if released_while_busy is None:  # the first to finish releases the model for everyone
                    wait_idle(page)
                    page.locator("[data-testid='stSidebar']").get_by_role("button", name="Release model").click()
                    report = page.get_by_text("Released. Memory")
                    report.wait_for(timeout=120_000)
                    released_while_busy = report.inner_text()
        time.sleep(0.2)
    print(
        f"\nload test: queued {sorted(queued)}; seconds from Correct to diff {finished}; release: {released_while_busy}"
    )
    assert len(finished) == SESSIONS, f"sessions without a result: {set(range(1, SESSIONS + 1)) - set(finished)}"
    assert queued, "the sessions should have queued behind each other"
    assert released_while_busy and "A correction was running" in released_while_busy, released_while_busy

    for number, page in enumerate(pages, start=1):
        wait_idle(page)
        assert _failures(page) == [], f"session {number}: {_failures(page)}"
        final = page.locator("[data-testid='stCode']").last.inner_text()
        assert MARKERS[number] in final, f"session {number} lost its own text"
        assert not any(MARKERS[other] in final for other in range(1, SESSIONS + 1) if other != number)
    with urllib.request.urlopen(f"{load_server}/_stcore/health", timeout=5) as response:
        assert response.status == 200
    for context in contexts:
        context.close()


def test_stop_keeps_the_chunks_done_and_the_page_is_usable_at_once(load_server, browser, tmp_path):
    upload = tmp_path / "long.png"
    upload.write_bytes(_document(5))
    page = browser.new_context(viewport=VIEWPORT).new_page()
    _start(page, load_server, upload)
    text = page.get_by_label("OCR text (editable)")
    text.wait_for(timeout=180_000)
    wait_idle(page)
    text.fill("\n\n".join([text.input_value()] * 12))  # a long document: many chunks
    text.press("Control+Enter")
    wait_idle(page)
    page.get_by_role("button", name="Correct", exact=True).click()
    page.get_by_text(re.compile(r"Chunk \d+ of")).wait_for(timeout=120_000)
    started = time.perf_counter()
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Stopped:", exact=False).first.wait_for(timeout=120_000)
    wait_idle(page)
    usable_after = time.perf_counter() - started
    print(f"\nStop to a usable page: {usable_after:.1f} s")
    assert _failures(page) == []
    assert page.get_by_text("keep their OCR text, marked 'stopped'", exact=False).count() >= 1
    assert MARKERS[5] in page.locator("[data-testid='stCode']").last.inner_text()
    page.get_by_role("button", name="Correct", exact=True).wait_for()  # the page works again


def test_a_closed_tab_frees_its_place_in_the_queue(load_server, browser, tmp_path):
    pages = []
    for number in (1, 2, 3):
        upload = tmp_path / f"queue-{number}.png"
        upload.write_bytes(_document(number))
        page = browser.new_context(viewport=VIEWPORT).new_page()
        _start(page, load_server, upload)
        pages.append(page)
    for page in pages:
        text = page.get_by_label("OCR text (editable)")
        text.wait_for(timeout=180_000)
        wait_idle(page)
    running, leaving, staying = pages
    text = running.get_by_label("OCR text (editable)")
    text.fill("\n\n".join([text.input_value()] * 12))  # keeps the model busy for a while
    text.press("Control+Enter")
    wait_idle(running)
    running.get_by_role("button", name="Correct", exact=True).click()
    running.get_by_text(re.compile(r"Chunk \d+ of")).wait_for(timeout=120_000)
    leaving.get_by_role("button", name="Correct", exact=True).click()
    leaving.get_by_text("you are next", exact=False).wait_for(timeout=60_000)
    leaving.context.close()  # the tab closes while it waits
    time.sleep(2)
    staying.get_by_role("button", name="Correct", exact=True).click()
    staying.get_by_text("Queued:", exact=False).wait_for(timeout=60_000)
    assert staying.get_by_text("you are next", exact=False).count() == 1, "the closed tab still holds a place"
    running.get_by_role("button", name="Stop").click()
    staying.locator(".ocr-diff-columns").first.wait_for(timeout=300_000)
    assert _failures(staying) == [] and _failures(running) == []
