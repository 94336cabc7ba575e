"""The `ocr` command: readable and JSON output, per-file errors, exit statuses."""

import json
import os
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


def test_a_file_system_error_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    too_long = str(tmp_path / ("x" * 300 + ".jsonl"))
    assert main(["guard", too_long]) == 1
    assert capsys.readouterr().err.strip().endswith("(File name too long).")
    from ocr_pipeline.cli import bench

    def refused(folder):
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(bench, "transcripts", refused)  # one the readers did not word themselves
    assert main(["bench", "adversarial", "/srv/scans"]) == 1
    assert capsys.readouterr().err == "error: /srv/scans: cannot be read (Permission denied).\n"


def test_bad_usage_exits_2():
    run = subprocess.run(
        [sys.executable, "-m", "ocr_pipeline", "ocr", "--engine", "nope", "x.png"], capture_output=True, text=True
    )
    assert run.returncode == 2
    assert "invalid choice" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.fixture(scope="module")
def ocr_text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "ocr.txt"
    path.write_text("Invoice # 12345\nTota1 due: $1O0.00 on 2023-07-15\n\nThank you f0r your business.\n")
    return path


def test_correct_json_has_raw_corrected_chunks_and_verdicts(tiny_model_dir, ocr_text_file, capsys):
    status = main(["correct", "--text-file", str(ocr_text_file), "--model", str(tiny_model_dir), "--json"])
    assert status == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) >= {"raw", "corrected", "chunks", "model", "prompt", "seconds", "tokens_per_second"}
    assert payload["raw"] == ocr_text_file.read_text()
    assert payload["prompt"] == "financial" and payload["guard"] == "strict"  # auto: an invoice's amounts
    assert all({"raw", "candidate", "accepted", "reasons"} <= set(chunk) for chunk in payload["chunks"])
    # whatever the random model wrote, the guard keeps every number of the OCR text
    for number in ("12345", "2023-07-15"):
        assert number in payload["corrected"]


def test_correct_reads_standard_input(tiny_model_dir, ocr_text_file):
    run = subprocess.run(
        [sys.executable, "-m", "ocr_pipeline", "correct", "--model", str(tiny_model_dir), "--guard", "off"],
        input=ocr_text_file.read_text(),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "chunks:" in run.stderr and "Traceback" not in run.stderr


def test_correct_with_an_unknown_model_is_one_clear_line(ocr_text_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OCR_MODEL_DIR", str(tmp_path))
    status = main(["correct", "--text-file", str(ocr_text_file), "--model", "nobody/no-such-model"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: ") and str(tmp_path) in err


def test_correct_with_an_unknown_prompt_is_bad_usage(ocr_text_file, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["correct", "--text-file", str(ocr_text_file), "--prompt", "no-such-prompt"])
    assert exited.value.code == 2
    assert "Unknown prompt 'no-such-prompt'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (bytes(range(256)) * 12, "binary data"),
        (b"caf\xe9 au lait", "not UTF-8 text"),
        (b"  \n\n ", "the text to correct is empty"),
    ],
)
def test_correct_refuses_what_is_not_text_before_loading_a_model(data, why, tmp_path, capsys):
    """A 3 KB binary given to --text-file was sent to the model for minutes."""
    path = tmp_path / "input.bin"
    path.write_bytes(data)
    assert main(["correct", "--text-file", str(path), "--model", "nobody/not-downloaded"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ") and why in err and err.count("\n") == 1
    assert "not downloaded" not in err, "the text is checked before the model is looked for"


def test_correct_refuses_a_text_over_the_limit_and_says_how_to_raise_it(tmp_path, capsys):
    path = tmp_path / "long.txt"
    path.write_text("word " * 400)
    assert main(["correct", "--text-file", str(path), "--max-chars", "1000", "--model", "nobody/x"]) == 1
    err = capsys.readouterr().err
    assert "2,000 characters, over the 1,000-character limit" in err and "--max-chars" in err


def test_ctrl_c_stops_after_the_current_chunk_and_keeps_what_was_done(tiny_model_dir, tmp_path):
    import signal
    import time

    path = tmp_path / "long.txt"
    path.write_text("\n\n".join(f"Paragraph {index}: Tota1 due $1O0.00 on 2023-07-15." for index in range(60)))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ocr_pipeline",
            "correct",
            "--text-file",
            str(path),
            "--model",
            str(tiny_model_dir),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"OCR_PIPELINE_HOME": str(tmp_path)},
    )
    line = process.stderr.readline()
    while not line.startswith("correcting "):
        assert line, "the CLI ended before it started correcting"
        line = process.stderr.readline()
    time.sleep(1.5)  # some chunks are done, the others are not
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "stopping after the chunk that is running" in err and "Traceback" not in err
    payload = json.loads(out)
    statuses = [chunk["status"] for chunk in payload["chunks"] if chunk["raw"].strip()]
    assert "stopped" in statuses and statuses[0] != "stopped", statuses
    assert statuses == sorted(statuses, key=lambda status: status == "stopped"), "stopped chunks come last"
    assert payload["corrected"].endswith(path.read_text().split("\n\n")[-1])  # the rest kept its OCR text


def test_run_ocrs_then_corrects_each_file(files, tiny_model_dir, capsys):
    status = main(
        [
            "run",
            str(files / "invoice.png"),
            str(files / "notes.png"),
            "--engine",
            "rapidocr",
            "--model",
            str(tiny_model_dir),
            "--json",
        ]
    )
    output = capsys.readouterr()
    rows = [json.loads(line) for line in output.out.splitlines()]
    assert status == 1
    assert rows[0]["engine"] == "rapidocr"
    assert "12345" in rows[0]["correction"]["corrected"]
    assert rows[0]["correction"]["prompt"] == "financial"
    assert f"{files / 'invoice.png'}: prompt financial (" in output.err  # chosen per file, and said
    assert "error" in rows[1]


@pytest.mark.parametrize(
    ("text", "prompt", "expected", "said"),
    [
        ("Dear Anna,\nthe meeting moved to Friday.\n", "auto", "general", "prompt general (no amounts"),
        ("CAFE\nTea 2.50\nCake 3.20\nTOTAL 5.70\n", "auto", "financial", "prompt financial (3 amount(s)"),
        ("CAFE\nTea 2.50\nCake 3.20\nTOTAL 5.70\n", "table", "table", ""),  # named: used as it is
    ],
)
def test_correct_picks_the_prompt_that_suits_the_text_unless_one_is_named(
    text, prompt, expected, said, tiny_model_dir, tmp_path, capsys
):
    path = tmp_path / "text.txt"
    path.write_text(text)
    arguments = ["correct", "--text-file", str(path), "--model", str(tiny_model_dir), "--prompt", prompt, "--json"]
    assert main(arguments) == 0
    output = capsys.readouterr()
    assert json.loads(output.out)["prompt"] == expected
    assert (said in output.err) if said else ("prompt " not in output.err)


def test_models_lists_presets_and_the_demo_file(capsys):
    assert main(["models", "--json"]) == 0
    rows = {row["name"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert {"demo", "Qwen/Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-3B-Instruct"} <= set(rows)
    assert rows["demo"]["available"] and rows["demo"]["path"].endswith(".gguf")
