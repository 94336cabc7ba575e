"""The `ocr` command: readable and JSON output, per-file errors, exit statuses."""

import json
import subprocess
import sys

import pytest

from ocr_pipeline.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory, invoice_png):
    folder = tmp_path_factory.mktemp("cli")
    (folder / "invoice.png").write_bytes(invoice_png)
    (folder / "notes.png").write_text("not an image")
    (folder / "empty.pdf").write_bytes(b"")
    return folder


def test_json_lines_one_per_file_and_bad_files_do_not_stop_the_rest(files, capsys):
    names = [str(files / "notes.png"), str(files / "invoice.png"), str(files / "empty.pdf"), str(files / "gone.png")]
    status = main(["ocr", *names, "--engine", "rapidocr", "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1
    assert [row["file"] for row in rows] == names
    assert "not a readable PNG" in rows[0]["error"]
    assert rows[1]["engine"] == "rapidocr" and "12345" in rows[1]["pages"][0]["text"]
    assert "empty" in rows[2]["error"]
    assert "no such file" in rows[3]["error"]


def test_readable_output_has_page_headers_and_exit_zero(files, capsys):
    assert main(["ocr", str(files / "invoice.png"), "--engine", "rapidocr"]) == 0
    out = capsys.readouterr().out
    assert "--- page 1 of 1" in out and "Total" in out


def test_bad_usage_exits_2():
    run = subprocess.run([sys.executable, "-m", "ocr_pipeline", "ocr", "--engine", "nope", "x.png"], capture_output=True, text=True)
    assert run.returncode == 2
    assert "invalid choice" in run.stderr
    assert "Traceback" not in run.stderr
