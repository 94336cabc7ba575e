"""`bench backends`: the same chunks through each backend in one run, and a server's throughput."""

from __future__ import annotations

import json

import pytest

from ocr_pipeline import bench
from ocr_pipeline.cli import main
from tests.fixtures_models import needs_llamacpp

TEXT = "Invoice 4521\nTota1 due: $1O0.00 on 2023-07-15\n\nThank you f0r your business."


@pytest.mark.slow
def test_every_backend_on_the_same_chunks_with_ratios_and_throughput(tiny_gguf_path, tmp_path):
    needs_llamacpp()
    report = bench.benchmark_backends(
        str(tiny_gguf_path), TEXT, repeats=2, concurrency_levels=(1, 2), throughput_requests=2, model_folder=tmp_path
    )
    runs = {run.label: run for run in report.runs}
    assert list(runs) == ["transformers", "llamacpp", "openai"]
    assert all(not run.error for run in runs.values()), [run.error for run in runs.values()]
    assert all(
        len(run.seconds) == 2 and run.tokens_per_second > 0 and run.load_seconds is not None for run in runs.values()
    )
    assert runs["transformers"].speedup == 1.0 and runs["transformers"].tokens_per_second_ratio == 1.0
    assert runs["llamacpp"].speedup > 0 and runs["openai"].memory_added_mib > 0  # the server process's RSS
    assert all(run.decode_tokens_per_second > 0 for run in runs.values())
    assert report.server.startswith("local llama.cpp server") and report.server_vs_llamacpp > 0
    assert [level.concurrency for level in report.throughput] == [1, 2]
    assert all(len(level.seconds) == 2 and level.tokens_per_second > 0 for level in report.throughput)
    assert report.to_json()["benchmark"] == "backends"
    text = report.render()
    assert "speed-up vs transformers" in text and "concurrent requests" in text and "llama.cpp, " in text


def test_cli_bench_backends_json(tiny_gguf_path, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OCR_MODEL_DIR", str(tmp_path))
    document = tmp_path / "doc.txt"
    document.write_text(TEXT)
    status = main(
        [
            "bench",
            "backends",
            "--model",
            str(tiny_gguf_path),
            "--backends",
            "transformers",
            "--text-file",
            str(document),
            "--repeats",
            "1",
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and [run["label"] for run in report["runs"]] == ["transformers"]
    assert report["throughput"] == [] and report["server"] is None
