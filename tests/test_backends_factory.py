"""The factory (what "auto" picks, one entry point for every backend) and the CLI's model flags."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ocr_pipeline.cli import main
from ocr_pipeline.errors import ModelError
from ocr_pipeline.llm import choose_backend, create_backend, llamacpp_status
from ocr_pipeline.llm.backends.transformers import TransformersBackend
from ocr_pipeline.llm.base import ModelBackend
from ocr_pipeline.llm.placement import LoadOptions, cuda_available


@pytest.fixture(autouse=True)
def no_server_in_the_environment(monkeypatch):
    for name in ("OCR_LLM_URL", "OCR_LLM_MODEL", "OCR_LLM_API_KEY", "OCR_BACKEND"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def without_llama_cpp(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))


def test_auto_picks_the_server_when_a_url_is_given(monkeypatch, tiny_model_dir):
    assert choose_backend("auto", "demo", server_url="http://gpu:8000/v1") == "openai"
    monkeypatch.setenv("OCR_LLM_URL", "http://gpu:8000/v1")
    assert choose_backend("auto", str(tiny_model_dir)) == "openai"
    assert choose_backend("transformers", "demo") == "transformers"


def test_auto_on_a_cpu_runs_gguf_models_with_llama_cpp_where_installed(tiny_model_dir, demo_gguf_path):
    if cuda_available():
        pytest.skip("CUDA is present: auto keeps transformers there")
    expected = "llamacpp" if llamacpp_status()[0] else "transformers"
    assert choose_backend("auto", "demo") == expected
    assert choose_backend("auto", str(demo_gguf_path)) == expected
    assert choose_backend("auto", str(tiny_model_dir)) == "transformers"  # a folder: transformers only
    assert choose_backend("auto", "demo", options=LoadOptions(quantization="int8")) == "transformers"


def test_auto_without_llama_cpp_falls_back_to_transformers(without_llama_cpp):
    assert choose_backend("auto", "demo") == "transformers"


def test_unknown_backend():
    with pytest.raises(ModelError, match="not one of auto, transformers, llamacpp, openai"):
        choose_backend("vllm", "demo")


def test_create_backend_loads_and_releases(tiny_model_dir):
    backend = create_backend(str(tiny_model_dir), options=LoadOptions(device="cpu", dtype="float32"))
    assert isinstance(backend, TransformersBackend) and isinstance(backend, ModelBackend)
    assert backend.kind == "transformers" and backend.concurrency == 1 and backend.load_seconds > 0
    assert backend.placement.layers_by_device == {"cpu": 2} and backend.describe().startswith("transformers, ")
    assert backend.release().after.rss_bytes > 0 and backend.loaded.released
    with pytest.raises(ModelError, match="Name a model"):
        create_backend(None, backend="transformers")


# --- the command line ----------------------------------------------------------------------------


def test_negative_gpu_layers_is_bad_usage():
    run = subprocess.run(
        [sys.executable, "-m", "ocr_pipeline", "correct", "--gpu-layers", "-3"],
        input="",
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2, run.stderr
    assert "expected a number of layers (0 or more), 'all' or 'auto', not '-3'" in run.stderr
    assert "Traceback" not in run.stderr


def test_bad_backend_and_concurrency_are_bad_usage():
    for flags in (["--backend", "vllm"], ["--concurrency", "0"]):
        run = subprocess.run(
            [sys.executable, "-m", "ocr_pipeline", "correct", *flags], input="", capture_output=True, text=True
        )
        assert run.returncode == 2 and "Traceback" not in run.stderr, (flags, run.stderr)


def test_gpu_layers_without_cuda_says_it_has_no_effect(tiny_model_dir, tmp_path, capsys):
    if cuda_available():
        pytest.skip("CUDA is present")
    text = tmp_path / "ocr.txt"
    text.write_text("Tota1 100.00\n")
    assert (
        main(["correct", "--text-file", str(text), "--model", str(tiny_model_dir), "--gpu-layers", "4", "--json"]) == 0
    )
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: --gpu-layers has no effect without CUDA (transformers runs the model on the CPU here)."
    ]
    assert main(["correct", "--text-file", str(text), "--model", str(tiny_model_dir), "--json"]) == 0
    assert "warning:" not in capsys.readouterr().err


def test_the_backend_flag_reaches_the_factory(tiny_model_dir, tmp_path, capsys):
    text = tmp_path / "ocr.txt"
    text.write_text("Tota1 100.00\n")
    assert (
        main(
            ["correct", "--text-file", str(text), "--model", str(tiny_model_dir), "--backend", "transformers", "--json"]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "model: transformers, " in captured.err and json.loads(captured.out)["raw"] == "Tota1 100.00\n"
    assert main(["correct", "--text-file", str(text), "--model", str(tiny_model_dir), "--backend", "llamacpp"]) == 1
    assert "needs a .gguf file" in capsys.readouterr().err or not llamacpp_status()[0]


def test_run_sends_several_files_to_a_server_at_once_and_keeps_their_order(fake_openai, invoice_png, tmp_path, capsys):
    import threading

    from tests.fixtures_models import chat_answer

    active, most = 0, 0
    lock = threading.Lock()
    overlapped = threading.Event()

    def counting(body):
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
            if active >= 2:
                overlapped.set()
        overlapped.wait(30)  # an answer waits for the next file's request, which comes only if they overlap
        with lock:
            active -= 1
        return chat_answer(body["messages"][-1]["content"])(body)

    fake_openai.default = counting
    names = []
    for index in range(3):
        (tmp_path / f"scan{index}.png").write_bytes(invoice_png)
        names.append(str(tmp_path / f"scan{index}.png"))
    names.insert(1, str(tmp_path / "missing.png"))
    status = main(
        ["run", *names, "--engine", "rapidocr", "--server-url", fake_openai.url, "--concurrency", "4", "--json"]
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1 and [row["file"] for row in rows] == names
    assert "no such file" in rows[1]["error"]
    assert all("12345" in row["correction"]["corrected"] for row in rows if "error" not in row)
    assert most >= 2  # chunks of different files were in flight together


def test_the_cli_corrects_through_a_server(fake_openai, tmp_path, capsys):
    text = tmp_path / "ocr.txt"
    text.write_text("Tota1 100.00\n")
    assert main(["correct", "--text-file", str(text), "--server-url", fake_openai.url, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["model"] == "tiny" and payload["chunks"][0]["candidate"] == "Total 100.00"
