"""Benchmarks: data loading, scoring, every measurement on generated data with the tiny model, the CLI."""

import json
from pathlib import Path

import pytest

from ocr_pipeline import bench, metrics, samples
from ocr_pipeline.chunking import PAGE_BREAK
from ocr_pipeline.cli import main
from ocr_pipeline.errors import PipelineError

INVOICE_TEXT = "\n".join(samples.INVOICE_LINES)
RECEIPT_TEXT = "\n".join(samples.RECEIPT_LINES)


@pytest.fixture(scope="module")
def scan_folder(tmp_path_factory) -> Path:
    """Two generated scans with transcripts and key fields, a scan without one, and a broken scan."""
    folder = tmp_path_factory.mktemp("scans")
    (folder / "invoice.png").write_bytes(samples.to_bytes(samples.render_lines(samples.INVOICE_LINES)))
    (folder / "invoice.gt.txt").write_text(INVOICE_TEXT)
    (folder / "invoice.key.json").write_text(json.dumps({"total": "$100.00", "date": "2023-07-15", "company": ""}))
    (folder / "receipt.jpg").write_bytes(
        samples.to_bytes(samples.render_lines(samples.RECEIPT_LINES, size=30, width=760), "JPEG")
    )
    (folder / "receipt.gt.txt").write_text(RECEIPT_TEXT)
    (folder / "receipt.key.json").write_text(json.dumps({"total": "11.50", "date": "15/07/2023"}))
    (folder / "untranscribed.png").write_bytes(samples.to_bytes(samples.render_lines(["no transcript"])))
    (folder / "zz_broken.png").write_bytes(b"not an image at all")
    (folder / "zz_broken.gt.txt").write_text("whatever")
    return folder


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    rows = [
        {"ocr": "Tbe total was $1O0.00 on 2023-07-15.", "gt": "The total was $100.00 on 2023-07-15."},
        {"ocr": "Invoice # 12345 from ACME Supp1ies", "gt": "Invoice # 12345 from ACME Supplies"},
        {"ocr": "the meeting rnoved to Friday at 10:30", "gt": "the meeting moved to Friday at 10:30"},
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n\n")
    return path


# --- data and scoring -----------------------------------------------------------------------------


def test_scan_set_takes_transcribed_scans_with_their_key_fields(scan_folder):
    items = bench.load_scan_set(scan_folder)
    assert [item.name for item in items] == ["invoice.png", "receipt.jpg", "zz_broken.png"]
    assert items[0].keys == {"total": "$100.00", "date": "2023-07-15"}  # empty fields are dropped
    assert items[0].ground_truth == INVOICE_TEXT
    assert [item.name for item in bench.load_scan_set(scan_folder, limit=1)] == ["invoice.png"]


def test_scan_set_errors_name_the_folder(tmp_path):
    with pytest.raises(PipelineError, match="no such folder"):
        bench.load_scan_set(tmp_path / "missing")
    with pytest.raises(PipelineError, match="cannot be read .File name too long"):
        bench.load_scan_set(tmp_path / ("x" * 300))  # an OSError worded for the user, not raised as one
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(PipelineError, match="no scans with a NAME.gt.txt"):
        bench.load_scan_set(tmp_path)
    (tmp_path / "a.gt.txt").write_text("a")
    (tmp_path / "a.key.json").write_text("{not json")
    with pytest.raises(PipelineError, match="a.key.json: not valid JSON"):
        bench.load_scan_set(tmp_path)


def test_double_suffix_scans_find_their_transcript(tmp_path):
    (tmp_path / "010001.bin.png").write_bytes(b"x")
    (tmp_path / "010001.gt.txt").write_text("a line")
    assert [item.ground_truth for item in bench.load_scan_set(tmp_path)] == ["a line"]


@pytest.mark.parametrize(
    ("field", "value", "text", "found"),
    [
        ("total", "9.00", "TOTAL RM 9.00", True),
        ("total", "RM 9.00", "total 9.00", True),
        ("total", "9.00", "TOTAL 19.00", False),
        ("total", "9.00", "TOTAL 9.001", False),
        ("date", "25/12/2018", "Date: 25/12/2018 10:00", True),
        ("date", "25/12/2018", "Date: 25/12/2019", False),
    ],
)
def test_key_fields_are_found_as_whole_values(field, value, text, found):
    assert bench.key_found(field, value, text) is found


def test_cer_any_order_scores_reading_without_reading_order():
    reference = "TOTAL\nRM 14.10\nCASH\nRM 20.00"
    columns = "TOTAL\nCASH\nRM 14.10\nRM 20.00"  # the same words, read column by column
    rows = "TOTAL RM 14.10\nCASH RM 20.00"  # ... and row by row, two boxes to a line
    assert bench.cer_any_order(columns, reference) == 0.0 < metrics.cer(columns, reference)
    assert bench.cer_any_order(rows, reference) == 0.0 == metrics.cer(rows, reference)
    misread = "CASH RM 2O.00\nTOTAL RM 14.10"
    assert bench.cer_any_order(misread, reference) == pytest.approx(1 / len("total rm 14.10 cash rm 20.00"))
    # never above the order-sensitive CER, also when little matches
    for hypothesis in ("", "nothing alike", "RM RM RM", reference):
        assert bench.cer_any_order(hypothesis, reference) <= metrics.cer(hypothesis, reference)
    assert bench.cer_any_order("", "") == 0.0


def test_glued_words_are_long_words_that_stand_for_several():
    reference = "THANK YOU FOR YOUR PATRONAGE\nSELANGOR DARUL EHSAN\nEXCHANGEABLE ELECTRICAL-SUPPLIES"
    read = "THANKYOU FORYOURPATRONAGE\nSELANGOR DARUL EHSAN\nEXCHANGEABLE ELECTRICAL-SUPPLIES"
    assert bench.glued_words(read, reference) == ["foryourpatronage"]  # "thankyou" is under 15 letters
    assert bench.glued_words(reference, reference) == []


def test_numbers_kept_counts_repeats_and_look_alike_repairs_as_changes():
    assert bench.numbers_kept("pay 10.00 and 10.00 by 2023-07-15", "pay 10.00 by 2023-07-15") == (2, 3)
    assert bench.numbers_kept("$1O0.00", "$100.00") == (0, 2)  # "1" and "0.00" are gone: "100.00" is new
    assert bench.numbers_kept("no digits", "none") == (0, 0)


def test_pairs_in_both_schemas_and_bad_lines(tmp_path):
    lines = [
        json.dumps({"ocr": "a", "gt": "b", "id": "first"}),
        json.dumps(
            {"id": "doc", "ocr_hypothesis": {"transcription_unit": "x"}, "ground_truth": {"transcription_unit": "y"}}
        ),
    ]
    pairs = bench.parse_pairs("\n".join(lines))
    assert [(pair.ocr, pair.gt) for pair in pairs] == [("a", "b"), ("x", "y")]
    with pytest.raises(PipelineError, match="line 1"):
        bench.parse_pairs("{broken")
    with pytest.raises(PipelineError):
        bench.load_pairs(tmp_path / "missing.jsonl")


# --- measurements ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ocr_report(scan_folder):
    seen = []
    report = bench.benchmark_ocr(
        scan_folder,
        ["rapidocr", bench.PLAIN_RAPIDOCR],
        on_progress=lambda done, total, what: seen.append((done, total)),
    )
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    return report


def test_ocr_benchmark_scores_every_engine_and_reports_the_broken_scan(ocr_report):
    summaries = {summary.engine: summary for summary in ocr_report.engines}
    assert set(summaries) == {"rapidocr", bench.PLAIN_RAPIDOCR}
    ours = summaries["rapidocr"]
    assert ours.documents == 3 and ours.failed == 1
    assert ours.scores.cer < 0.05  # clean renders of known text
    assert 0 <= ours.cer_any_order <= ours.scores.cer and ours.glued_words == 0
    assert "PP-OCRv6" in ours.model and summaries[bench.PLAIN_RAPIDOCR].model == ours.model
    assert ours.keys_found == {"total": [2, 2], "date": [2, 2]}
    assert ours.median_seconds_per_page > 0 and ours.peak_rss_mib > 0
    broken = [score for score in ocr_report.documents if score.document == "zz_broken.png"]
    assert len(broken) == 2 and all("not a readable PNG" in score.error for score in broken)
    assert ocr_report.time_ratio("rapidocr") > 0
    figures = ocr_report.to_json()
    assert figures["benchmark"] == "ocr" and figures["machine"]["cores"] >= 1
    assert "rapidocr" in figures["time_ratio_vs_plain"]


def test_ocr_benchmark_reads_with_the_given_aspose_license(scan_folder, monkeypatch):
    """The Evaluate page passes the license uploaded in the sidebar; the benchmark must use it."""
    import ocr_pipeline.ocr

    seen, real = [], ocr_pipeline.ocr.ocr_document

    def recording(document, engine, *args, license_path=None, **kwargs):
        seen.append(license_path)
        return real(document, engine, *args, license_path=license_path, **kwargs)

    monkeypatch.setattr(ocr_pipeline.ocr, "ocr_document", recording)
    bench.benchmark_ocr(scan_folder, ["rapidocr"], limit=1, license_path="/licenses/team.lic")
    assert seen == ["/licenses/team.lic"]


def test_ocr_report_renders_as_a_table_and_rows(ocr_report):
    text = ocr_report.render()
    assert "s/page (median)" in text and "rapidocr-plain" in text and "zz_broken.png (rapidocr)" in text
    assert "cer any order" in text and "glued words" in text and "models: rapidocr: rapidocr 3." in text
    assert "machine:" in text
    rows = ocr_report.document_rows()
    assert len(rows) == 6 and {
        "document",
        "engine",
        "CER",
        "CER any order",
        "glued words",
        "total found",
        "error",
    } <= set(rows[0])


def test_correction_benchmark_guarded_is_never_worse_than_the_ocr(pairs_file, tiny_backend):
    pairs = bench.load_pairs(pairs_file)
    assert len(pairs) == 3  # the blank line is skipped
    report = bench.benchmark_correction(pairs, tiny_backend, "general", "strict", str(pairs_file))
    outputs = {summary.output: summary for summary in report.outputs}
    assert set(outputs) == {"unguarded", "guarded"}
    for item in report.items:
        assert item.outputs["guarded"].cer <= item.ocr.cer + 1e-9, item.texts
        assert item.numbers_kept["guarded"] == item.numbers
    assert outputs["guarded"].worse == 0 and outputs["guarded"].numbers_kept == 1.0
    # the random model writes noise: unguarded, that is worse on every pair
    assert outputs["unguarded"].worse == 1.0 and outputs["unguarded"].scores.cer > report.ocr.cer
    assert report.tokens_per_second > 0 and report.load_seconds is not None
    assert "worse than the OCR text on" in report.render()
    assert {"CER OCR", "CER unguarded", "CER guarded"} <= set(report.document_rows()[0])


def test_pipeline_benchmark_keeps_every_key_field(scan_folder, tiny_backend):
    report = bench.benchmark_pipeline(scan_folder, tiny_backend, "rapidocr", "financial", "strict")
    assert [item.error != "" for item in report.items] == [False, False, True]
    assert report.keys_lost == []
    assert report.keys_kept["total"]["guarded"] == [2, 2] and report.keys_kept["date"]["guarded"] == [2, 2]
    assert report.outputs["guarded"].cer <= report.ocr.cer
    assert "key fields lost after guarded correction: none" in report.render()


def test_release_benchmark_records_each_cycle(tiny_model_dir):
    from ocr_pipeline.llm.models import ModelSource
    from ocr_pipeline.llm.placement import LoadOptions

    report = bench.benchmark_release(ModelSource("tiny", tiny_model_dir), LoadOptions(device="cpu"), cycles=3)
    assert [cycle.cycle for cycle in report.cycles] == [1, 2, 3]
    assert all(cycle.after_release["rss_bytes"] > 0 for cycle in report.cycles)
    assert report.cuda_returned is None  # no CUDA here
    assert abs(report.rss_growth_after_first) < 0.5
    assert "RSS growth" in report.render()


def test_overhead_benchmark_decodes_the_same_tokens_both_ways(tiny_backend):
    report = bench.benchmark_overhead(tiny_backend, repeats=1)
    assert report.chunks == 5  # the five sample pages
    assert report.pipeline_new_tokens == report.plain_new_tokens > 0
    assert report.ratio > 0 and len(report.pipeline_seconds) == len(report.plain_seconds) == 1


# --- the command line -----------------------------------------------------------------------------


def test_cli_bench_ocr_json_and_exit_status(scan_folder, capsys):
    status = main(["bench", "ocr", str(scan_folder), "--engine", "rapidocr", "--limit", "2", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0  # the broken scan is past the limit
    assert report["benchmark"] == "ocr" and report["engines"][0]["documents"] == 2
    assert {"cpu", "cores", "versions"} <= set(report["machine"])


def test_cli_bench_correct_and_overhead_with_a_local_model(pairs_file, tiny_model_dir, tmp_path, capsys):
    assert main(["bench", "correct", str(pairs_file), "--model", str(tiny_model_dir), "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "Correction of 2 pairs" in out and "guarded" in out
    text = tmp_path / "page.txt"
    text.write_text(INVOICE_TEXT + PAGE_BREAK + RECEIPT_TEXT)
    assert (
        main(
            ["bench", "overhead", "--model", str(tiny_model_dir), "--text-file", str(text), "--repeats", "1", "--json"]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["chunks"] == 2 and report["ratio"] > 0


def test_cli_bench_errors_are_one_line(tmp_path, capsys):
    assert main(["bench", "ocr", str(tmp_path / "nowhere")]) == 1
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nowhere'}: no such folder."
    assert main(["bench", "correct", str(tmp_path / "none.jsonl"), "--model", "demo"]) == 1
    assert "none.jsonl" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:  # an unknown prompt is bad usage
        main(["bench", "correct", str(tmp_path / "none.jsonl"), "--prompt", "no-such-prompt"])
    assert exited.value.code == 2 and "Unknown prompt 'no-such-prompt'" in capsys.readouterr().err


# --- replay: the guard on recorded corrections ------------------------------------------------------


@pytest.fixture(scope="module")
def replay_file(tmp_path_factory) -> Path:
    """Three rows with two 'models': one that repairs, one that invents a number and rewrites."""
    rows = [
        {
            "id": "a1",
            "row": 0,
            "ocr": "Tbe meeting was he1d on Monday.",
            "gt": "The meeting was held on Monday.",
            "outputs": {"good": "The meeting was held on Monday.", "bad": "The meeting was held on Tuesday, 3 May."},
        },
        {
            "id": "a1",
            "row": 1,
            "ocr": "It cost $40.00 in all.",
            "gt": "It cost $40.00 in all.",
            "outputs": {"good": "It cost $40.00 in all.", "bad": "It cost $400.00 in all."},
        },
        {
            "id": "a2",
            "row": 0,
            "ocr": "the cornrnittee rnoved",
            "gt": "the committee moved",
            "outputs": {"good": "the committee moved", "bad": "a group of people went"},
        },
    ]
    path = tmp_path_factory.mktemp("replay") / "outputs.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return path


def test_replay_scores_every_model_and_the_ground_truth(replay_file):
    report = bench.benchmark_replay(bench.load_replay(replay_file), "strict", str(replay_file))
    models = {model.model: model for model in report.models}
    assert list(models) == [bench.GROUND_TRUTH, "good", "bad"]
    assert report.rows == 3 and report.ocr_cer > 0
    truth, good, bad = models[bench.GROUND_TRUTH], models["good"], models["bad"]
    assert truth.unguarded.cer == 0 and truth.unguarded.cut == -1.0
    assert truth.guarded.cut < -0.5 and truth.guarded.worse == 0
    assert good.guarded.better == 2 and good.guarded.unchanged == 1 and good.guarded.preference == round(2 / 3, 4)
    assert bad.unguarded.worse == 3 and bad.unguarded.preference == -1.0
    assert bad.guarded.worse == 0 and bad.guarded.rows_worse == []  # the guard refused the invented number
    assert bad.unguarded.rows_worse == ["a1#0", "a1#1", "a2#0"]
    text = report.render()
    assert "Replay of 3 rows" in text and "bad" in text and "preference" in text
    rows = report.document_rows()
    assert [row["model"] for row in rows] == [bench.GROUND_TRUTH, "good", "bad"]
    assert {"CER OCR", "CER unguarded", "CER guarded", "worse guarded", "preference guarded"} <= set(rows[0])


def test_replay_judges_the_rows_of_an_article_as_one_document(tmp_path):
    """A model's sure repairs in one row of an article pay for its guess in another; not across articles."""
    from tests.test_guard_document import CAREFUL, GUESS

    rows = [
        {"id": "art", "row": i, "ocr": raw, "gt": fix, "outputs": {"m": fix}} for i, (raw, fix) in enumerate(CAREFUL)
    ]
    rows.append({"id": "art", "row": 99, "ocr": GUESS[0], "gt": GUESS[1], "outputs": {"m": GUESS[1]}})
    rows.append({"id": "other", "row": 0, "ocr": GUESS[0], "gt": GUESS[1], "outputs": {"m": GUESS[1]}})
    parsed = bench.parse_replay("\n".join(json.dumps(row) for row in rows), "x.jsonl")
    assert {row.document for row in parsed} == {"art", "other"}
    model = next(m for m in bench.benchmark_replay(parsed, "strict").models if m.model == "m")
    assert model.guarded.better == len(CAREFUL) + 1  # the article's guess row is corrected too
    assert model.guarded.unchanged == 1  # the other article's, alone, is not


def test_replay_rows_must_carry_outputs(tmp_path):
    with pytest.raises(PipelineError, match='line 2: expected {"ocr": ..., "gt": ..., "outputs"'):
        bench.parse_replay('{"ocr": "a", "gt": "a", "outputs": {}}\n{"ocr": "a", "gt": "b"}', "x.jsonl")
    with pytest.raises(PipelineError, match="holds no rows"):
        bench.parse_replay("\n\n", "x.jsonl")


def test_cli_bench_replay_json(replay_file, capsys):
    assert main(["bench", "replay", str(replay_file), "--policy", "lenient", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["benchmark"] == "replay" and report["policy"] == "lenient"
    assert [model["model"] for model in report["models"]] == [bench.GROUND_TRUTH, "good", "bad"]


# --- input hardening: files that are not UTF-8 text, lines that are not JSON -----------------------

NOT_UTF8 = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize("command", [["bench", "correct"], ["bench", "replay"], ["guard"]])
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"ocr": "caf\xe9", "gt": "cafe"}\n', "not UTF-8 text (byte 0xe9 at position 12); save it as UTF-8."),
        (NOT_UTF8, "not UTF-8 text (binary data: a NUL byte at position 8)."),
    ],
)
def test_a_file_that_is_not_utf8_text_is_one_error_line(tmp_path, capsys, command, content, message):
    path = tmp_path / "input.jsonl"
    path.write_bytes(content)
    assert main([*command, str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"error: {path}: {message}\n"
    assert "Traceback" not in captured.err and captured.out == ""


@pytest.mark.parametrize("command", [["bench", "correct"], ["bench", "replay"], ["guard"]])
def test_a_line_that_is_not_json_is_named(tmp_path, capsys, command):
    path = tmp_path / "input.jsonl"
    path.write_text('{"ocr": "a", "gt": "a", "candidate": "a", "outputs": {"m": "a"}}\n\n{"ocr": "a",\n')
    assert main([*command, str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {path}, line 3: not JSON")


def test_cli_bench_adversarial_reports_every_category_refused(capsys):
    assert main(["bench", "adversarial", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "name replaced" in out and "plain repairs taken" in out and "let through" not in out


def test_cli_bench_adversarial_reads_transcripts(tmp_path, capsys):
    (tmp_path / "001.gt.txt").write_text("SHOP SDN BHD\nTOTAL\nRM 9.00\nCASH\nRM 10.00\nGOODS SOLD ARE NOT RETURNABLE")
    assert main(["bench", "adversarial", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["benchmark"] == "adversarial" and report["texts"] == 1
    assert all(tally["refused"] == tally["cases"] for tally in report["categories"])
    assert main(["bench", "adversarial", str(tmp_path / "none")]) == 1
    assert "no NAME.gt.txt transcripts" in capsys.readouterr().err


# --- the Evaluate page: replay, and uploads that are not UTF-8 text ---------------------------------


@pytest.fixture
def evaluate_page(tmp_path, monkeypatch, tiny_model_dir):
    from tests.test_app_correct import start

    monkeypatch.setenv("OCR_PIPELINE_HOME", str(tmp_path))
    monkeypatch.setenv("OCR_MODEL", str(tiny_model_dir))
    return start("pages/evaluate.py")


def test_evaluate_replays_uploaded_model_outputs_with_a_chart(evaluate_page, replay_file):
    from tests.test_app_correct import assert_no_exception

    app = evaluate_page
    app.segmented_control(key="evaluate.source").set_value("Recorded model outputs (.jsonl)").run()
    upload = ("outputs.jsonl", replay_file.read_bytes(), "application/json")
    app.file_uploader(key="evaluate:replay").set_value(upload).run()
    app.button(key="evaluate:run").click().run()
    assert_no_exception(app)
    table = app.dataframe[0].value
    assert list(table["model"]) == [bench.GROUND_TRUTH, "good", "bad"]
    assert (table["CER guarded"] <= table["CER OCR"]).all()
    assert "Replay of 3 rows" in app.code[0].value
    assert any("unguarded and guarded" in markdown.value for markdown in app.markdown)


@pytest.mark.parametrize(
    ("source", "uploader"),
    [("OCR / ground-truth pairs (.jsonl)", "evaluate:pairs"), ("Recorded model outputs (.jsonl)", "evaluate:replay")],
)
def test_evaluate_says_an_upload_is_not_utf8_text(evaluate_page, source, uploader):
    from tests.test_app_correct import assert_no_exception, messages

    app = evaluate_page
    app.segmented_control(key="evaluate.source").set_value(source).run()
    app.file_uploader(key=uploader).set_value(("pairs.jsonl", b'{"ocr": "caf\xe9", "gt": "x"}', "application/json"))
    app.run()
    app.button(key="evaluate:run").click().run()
    assert_no_exception(app)
    assert "pairs.jsonl: not UTF-8 text (byte 0xe9 at position 12); save it as UTF-8." in messages(app), messages(app)
