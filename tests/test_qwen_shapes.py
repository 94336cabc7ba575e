"""benchmarks/qwen_shapes.py, the performance lab: random-weight Qwen2.5 shapes on a CPU (a GPU where there is one)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from ocr_pipeline.errors import PipelineError

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "qwen_shapes.py"
_spec = importlib.util.spec_from_file_location("qwen_shapes", SCRIPT)
shapes = importlib.util.module_from_spec(_spec)
sys.modules["qwen_shapes"] = shapes  # dataclasses look their module up while the class is made
_spec.loader.exec_module(shapes)


def test_gpu_benchmark_says_it_was_skipped_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the real run is the gpu-marked test")
    report = shapes.benchmark_gpu(["Qwen2.5-0.5B"])
    assert report.skipped == shapes.NO_CUDA and report.runs == []
    assert shapes.NO_CUDA in report.render()


def test_cpu_benchmark_measures_every_cpu_variant(monkeypatch):
    monkeypatch.setitem(
        shapes.QWEN25_SHAPES,
        "tiny",
        dict(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            vocab_size=32000,
            tie_word_embeddings=True,
        ),
    )
    report = shapes.benchmark_cpu(["tiny"], prompt_tokens=8, new_tokens=4)
    assert [run.variant for run in report.runs] == list(shapes.CPU_VARIANTS)
    assert all(not run.error for run in report.runs), [run.error for run in report.runs]
    assert all(run.generation["one_by_one_tokens_per_second"] > 0 for run in report.runs)
    assert all(run.generation["batched_tokens_per_second"] is None for run in report.runs)  # one prompt at a time
    assert report.to_json()["benchmark"] == "cpu"
    text = report.render()
    assert "CPU benchmark" in text and "4bit, bf16 compute" in text and "tok/s 1-by-1" in text


def test_gpu_benchmark_rejects_unknown_shapes():
    with pytest.raises(PipelineError, match="Unknown shape"):
        shapes.benchmark_gpu(["Qwen9-1T"])


@pytest.mark.gpu
def test_gpu_benchmark_measures_batched_generation():
    report = shapes.benchmark_gpu(["Qwen2.5-0.5B"], batch=4, prompt_tokens=32, new_tokens=8)
    assert not report.skipped and report.runs
    assert all(not run.error for run in report.runs), [run.error for run in report.runs]


def test_the_script_runs_from_the_command_line():
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "gpu", "--shape", "Qwen2.5-0.5B", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert '"benchmark": "gpu"' in run.stdout
