"""The real thing: `streamlit run` in a subprocess, driven by Chromium through Playwright.

Uploads a generated invoice, runs OCR and correction (tiny test model), sees the diff, presses
Release, and takes a screenshot of every page: into a temporary folder, or into
`BROWSER_SCREENSHOTS` when set (`BROWSER_SCREENSHOTS=docs/screenshots` refreshes the README's).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from ocr_pipeline import samples
from tests.fixtures_browser import TIMINGS, open_app_page, open_page, served, wait_idle

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS") or tempfile.mkdtemp(prefix="screenshots-"))
MEMORY: dict[str, str] = {}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, tiny_model_dir):
    with served(tmp_path_factory.mktemp("app-home"), os.environ.get("BROWSER_TEST_MODEL", str(tiny_model_dir))) as url:
        yield url


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_selector("[data-testid='stSkeleton']", state="detached")
    wait_idle(page)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def sidebar_memory(page) -> str:
    return page.locator("[data-testid='stSidebar']").get_by_text("Memory: RSS").inner_text()


def test_upload_ocr_correct_diff_release(app_url, browser, tmp_path):
    """The main path, timed; BROWSER_TEST_FILE swaps the generated invoice for a real scan."""
    upload = Path(os.environ.get("BROWSER_TEST_FILE", tmp_path / "invoice.png"))
    if not upload.exists():
        upload.write_bytes(samples.to_bytes(samples.add_scan_noise(samples.render_lines(samples.INVOICE_LINES))))
    page = open_page(browser)
    started = time.perf_counter()
    page.goto(app_url)
    page.get_by_text("Correct a document").wait_for()
    TIMINGS["first screen"] = time.perf_counter() - started
    wait_idle(page)
    MEMORY["before load"] = sidebar_memory(page)

    # the main area's uploader; the sidebar has one of its own for the Aspose license
    page.locator("[data-testid='stMain'] input[type=file]").set_input_files(str(upload))
    page.get_by_role("button", name="Run OCR").wait_for()
    started = time.perf_counter()
    page.get_by_role("button", name="Run OCR").click()
    text_box = page.get_by_label("OCR text (editable)")
    text_box.wait_for()
    TIMINGS["upload to OCR text"] = time.perf_counter() - started
    assert text_box.input_value().strip()
    wait_idle(page)

    started = time.perf_counter()
    page.get_by_role("button", name="Correct", exact=True).click()
    page.locator(".ocr-diff-columns").first.wait_for(timeout=600_000)
    TIMINGS["Correct to diff"] = time.perf_counter() - started
    wait_idle(page)
    MEMORY["after load"] = sidebar_memory(page)
    assert "loaded: " in page.locator("[data-testid='stSidebar']").inner_text()
    page.get_by_role("heading", name="What changed").evaluate("heading => heading.scrollIntoView({block: 'start'})")
    shoot(page, "correct")

    # a transcript in UTF-16 (as Windows Notepad saves one) measures; a scan dropped there is told why not
    truth = tmp_path / "truth.txt"
    truth.write_bytes("\n".join(samples.INVOICE_LINES).encode("utf-16"))
    page.get_by_text("Ground truth: measure CER / WER").click()
    expander = page.locator("[data-testid='stExpander']").filter(has_text="Ground truth")
    expander.locator("input[type=file]").set_input_files(str(truth))
    expander.locator("[data-testid='stMetric']").filter(has_text="CER").wait_for()
    expander.locator("input[type=file]").set_input_files(str(upload))
    alert = expander.locator("[data-testid='stAlert']").filter(has_text="not UTF-8 text")
    alert.wait_for()
    assert upload.name in alert.inner_text()
    wait_idle(page)

    page.locator("[data-testid='stSidebar']").get_by_role("button", name="Release model").click()
    released = page.get_by_text("Released. Memory")
    released.wait_for()
    MEMORY["release report"] = released.inner_text()
    assert "before: RSS" in MEMORY["release report"] and "after: RSS" in MEMORY["release report"]
    wait_idle(page)
    MEMORY["after release"] = sidebar_memory(page)

    # a second file, a broken one: the first file's work goes, the prompt stays, and the page says why
    # it cannot read the file (clearing the work inside the upload's callback crashed the page once)
    broken = tmp_path / "broken.png"
    broken.write_bytes(upload.read_bytes()[:2000])
    page.locator("[data-testid='stMain'] input[type=file]").first.set_input_files(str(broken))
    page.locator("[data-testid='stAlert']").filter(has_text="broken.png").wait_for()
    assert page.locator("[data-testid='stException']").count() == 0
    print("\ntimings (s):", {name: round(seconds, 2) for name, seconds in TIMINGS.items()})
    print("memory:", MEMORY)


def test_a_file_of_another_type_is_told_what_is_supported(app_url, browser, tmp_path):
    """The uploader used to filter by type, so the browser refused a `.heic` with only a red mark."""
    photo = tmp_path / "photo.heic"
    photo.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(100))
    page = open_page(browser)
    page.goto(app_url)
    wait_idle(page)
    page.locator("[data-testid='stMain'] input[type=file]").set_input_files(str(photo))
    alert = page.locator("[data-testid='stAlert']").filter(has_text="unsupported file type")
    alert.wait_for()
    assert "photo.heic" in alert.inner_text() and "PDF" in alert.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0


def test_evaluate_tells_why_a_file_is_no_model_outputs(app_url, browser, tmp_path):
    """The Evaluate uploaders filtered by type too: a scan dropped on them got only a red mark."""
    scan = tmp_path / "scan.png"
    scan.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    page = open_app_page(browser, app_url, "Evaluate")
    page.get_by_text("Recorded model outputs (.jsonl)").click()
    wait_idle(page)
    page.locator("[data-testid='stMain'] input[type=file]").set_input_files(str(scan))
    wait_idle(page)
    page.get_by_role("button", name="Run").click()
    alert = page.locator("[data-testid='stAlert']").filter(has_text="not UTF-8 text")
    alert.wait_for()
    assert "scan.png" in alert.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0


def test_no_page_asks_anything_of_another_host(app_url, browser):
    """The dashboard serves itself offline: a Material icon as the favicon was fetched from
    fonts.gstatic.com, which an air-gapped machine cannot resolve (no favicon, console errors)."""
    page = open_page(browser)
    elsewhere = []
    page.on("request", lambda request: elsewhere.append(request.url) if request.url.startswith("http") else None)
    page.goto(app_url)
    wait_idle(page)
    for title in ["Compare prompts", "Batch", "Evaluate", "Models & resources", "Demo", "Correct"]:
        page.get_by_role("link", name=title).click()
        page.get_by_role("heading", name=title if title != "Correct" else "Correct a document").first.wait_for()
        wait_idle(page)
    elsewhere = [url for url in elsewhere if not url.startswith(app_url)]
    assert elsewhere == []


@pytest.mark.parametrize(("title", "name"), [("Batch", "batch"), ("Models & resources", "models")])
def test_every_page_opens_without_error(app_url, browser, title, name):
    page = open_app_page(browser, app_url, title)
    assert page.locator("[data-testid='stException']").count() == 0
    shoot(page, name)


def test_demo_runs_end_to_end_on_the_real_demo_model(app_url, browser, demo_gguf_path):
    """The stakeholder path: one click reads and corrects a sample with SmolLM2 (a few seconds here)."""
    page = open_app_page(browser, app_url, "Demo")
    page.get_by_role("button", name="Run “Noisy invoice” end to end").click()
    page.get_by_role("heading", name="What the guard refused").wait_for(timeout=300_000)
    wait_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("demo · loaded: 30 layers on cpu").first.wait_for()
    assert page.get_by_text("Corrected · demo").is_visible()
    shoot(page, "demo")


def test_evaluate_measures_a_folder_and_draws_the_chart(app_url, browser, tmp_path):
    for name, lines, image in [
        ("invoice.png", samples.INVOICE_LINES, samples.add_scan_noise(samples.render_lines(samples.INVOICE_LINES))),
        ("receipt.png", samples.RECEIPT_LINES, samples.render_lines(samples.RECEIPT_LINES, size=30, width=760)),
        ("note.png", samples.NOTE_LINES, samples.render_note()),
    ]:
        (tmp_path / name).write_bytes(samples.to_bytes(image))
        (tmp_path / name.replace(".png", ".gt.txt")).write_text("\n".join(lines))
    page = open_app_page(browser, app_url, "Evaluate")
    folder = page.get_by_placeholder("/path/to/scans")
    folder.fill(str(tmp_path))
    folder.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Run").click()
    page.get_by_role("heading", name="Results").wait_for()
    wait_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    page.locator("[data-testid='stVegaLiteChart']").wait_for()  # CER per document and engine
    page.get_by_role("heading", name="Results").evaluate("heading => heading.scrollIntoView({block: 'start'})")
    shoot(page, "evaluate")


def test_compare_runs_two_prompts_side_by_side(app_url, browser, tmp_path):
    receipt = tmp_path / "receipt.png"
    receipt.write_bytes(samples.to_bytes(samples.render_lines(samples.RECEIPT_LINES, size=30, width=760)))
    page = open_app_page(browser, app_url, "Compare prompts")
    page.locator("[data-testid='stMain'] input[type=file]").set_input_files(str(receipt))
    page.get_by_role("button", name="Run OCR").click()
    page.get_by_role("button", name="Run all 2").click()
    page.locator(".ocr-diff-columns").nth(1).wait_for(timeout=300_000)  # one diff per prompt
    wait_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator(".ocr-diff-columns").count() == 2
    page.get_by_role("button", name="Run all 2").evaluate("button => button.scrollIntoView({block: 'start'})")
    shoot(page, "compare")


def test_a_deep_link_as_the_first_request_still_goes_through_the_router(browser, tmp_path, tiny_model_dir):
    """Streamlit starts in its old pages-folder mode: /demo first after a restart ran the page alone."""
    with served(tmp_path, str(tiny_model_dir)) as url:
        page = open_page(browser)
        page.goto(f"{url}/demo")
        page.get_by_role("heading", name="Demo").first.wait_for()
        wait_idle(page)
        sidebar = page.locator("[data-testid='stSidebar']")
        assert "Release model" in sidebar.inner_text()
        assert sidebar.get_by_role("link", name="Models & resources").count() == 1


def test_stop_ends_a_batch_after_the_file_being_read_and_keeps_the_rows_done(app_url, browser, tmp_path):
    """A click mid-batch used to end the script run and lose every row; Stop now keeps them."""
    files = []
    for index in range(8):  # each its own content: a page read once is not read again
        path = tmp_path / f"invoice-{index}.png"
        lines = samples.INVOICE_LINES + [f"Reference {index:04d}"]
        path.write_bytes(samples.to_bytes(samples.add_scan_noise(samples.render_lines(lines))))
        files.append(str(path))
    page = open_app_page(browser, app_url, "Batch")
    page.locator("[data-testid='stMain'] input[type=file]").set_input_files(files)
    page.get_by_role("button", name="Process 8 upload(s)").click()
    page.get_by_text("File 2 of 8").wait_for()
    page.get_by_role("button", name="Stop").click()
    summary = page.get_by_text("Stopped:")
    summary.wait_for()
    wait_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    text = summary.inner_text()
    read, not_processed = int(text.split(" read")[0].split()[-1]), int(text.split("Stopped: ")[1].split()[0])
    assert read >= 1 and not_processed >= 1 and read + not_processed == 8, text
    page.get_by_role("button", name="Download everything (.zip)").wait_for()
