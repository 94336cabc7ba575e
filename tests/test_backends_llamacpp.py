"""llama.cpp in process: load, stream, count tokens with the model's tokenizer, release, errors;
and the pure pieces (context size, n_gpu_layers) that need no llama.cpp at all."""

from __future__ import annotations

import pytest

from ocr_pipeline.errors import ModelError
from ocr_pipeline.llm.backends.llamacpp import CONTEXT_STEP, LlamaCppBackend, context_tokens, llamacpp_status
from ocr_pipeline.llm.base import GenerationBackend, ModelBackend
from ocr_pipeline.llm.models import ModelSource, resolve_model
from ocr_pipeline.llm.placement import LoadOptions, layers_split, llama_gpu_layers
from tests.fixtures_models import needs_llamacpp

REQUEST = [
    {"role": "system", "content": "Correct the OCR errors."},
    {"role": "user", "content": "Tbe qnick brown fox jumps ovcr the lazy dog, 37.5 times."},
]
SHORT = [{"role": "user", "content": "Invoice 4521 was paid on 12 March."}]


# --- pure ------------------------------------------------------------------------------------


def test_context_is_sized_from_the_chunk_budget():
    assert context_tokens(256, 1024) == 1792  # 1024 + 256 + (ceil(256 * 1.3) + 32) = 1645, rounded up
    assert context_tokens(1000, 1024) % CONTEXT_STEP == 0 and context_tokens(1000, 1024) >= 1024 + 1000 + 1332
    assert context_tokens(64, 0) == 256


@pytest.mark.parametrize(
    "options, expected",
    [
        (LoadOptions(), -1),
        (LoadOptions(gpu_layers="auto"), -1),
        (LoadOptions(gpu_layers=0), 0),
        (LoadOptions(gpu_layers=12), 12),
        (LoadOptions(device="cpu", gpu_layers=12), 0),
    ],
)
def test_gpu_layers_map_to_n_gpu_layers(options, expected):
    assert llama_gpu_layers(options) == expected


def test_layers_split_for_the_placement():
    assert layers_split(30, -1) == {"cuda:0": 30}
    assert layers_split(30, 0) == {"cpu": 30}
    assert layers_split(30, 12) == {"cuda:0": 12, "cpu": 18}
    assert layers_split(30, 99) == {"cuda:0": 30}


def test_without_llama_cpp_the_status_says_how_to_get_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    installed, message = llamacpp_status()
    assert not installed and "not installed" in message and "scripts/setup.sh" in message
    with pytest.raises(ModelError, match="not installed"):
        LlamaCppBackend(resolve_model("demo"))


# --- in process ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_llama(tiny_gguf_path):
    needs_llamacpp()
    backend = LlamaCppBackend(ModelSource("tiny", tiny_gguf_path.parent, gguf_file=tiny_gguf_path.name))
    yield backend
    backend.release()


def test_load_describes_where_the_model_sits(tiny_llama):
    assert isinstance(tiny_llama, ModelBackend) and isinstance(tiny_llama, GenerationBackend)
    assert tiny_llama.kind == "llamacpp" and not tiny_llama.supports_batching and tiny_llama.concurrency == 1
    assert tiny_llama.placement.layers_by_device == {"cpu": 2} and not tiny_llama.placement.on_cuda
    assert tiny_llama.context == context_tokens() and tiny_llama.threads >= 1 and tiny_llama.load_seconds > 0
    assert "llama.cpp, tiny: 2 layers: 2 on cpu" in tiny_llama.describe()


def test_tokens_are_counted_without_special_tokens(tiny_llama):
    assert tiny_llama.count_tokens("") == 0
    assert 0 < tiny_llama.count_tokens("Invoice 4521") < tiny_llama.count_tokens("Invoice 4521 was paid on 12 March.")
    assert tiny_llama.count_tokens("<|im_start|>") > 1  # text, not the control token


@pytest.mark.slow
def test_demo_token_counts_match_its_tokenizer_in_transformers(demo_gguf_path):
    from transformers import AutoTokenizer

    needs_llamacpp()
    backend = LlamaCppBackend(resolve_model("demo"))
    reference = AutoTokenizer.from_pretrained(demo_gguf_path.parent, gguf_file=demo_gguf_path.name)
    texts = ("Invoice number 4521 was paid on 12 March 2024.", "Tota1 EUR 9.50\nPaid by card", "Ünïcödé façade")
    for text in texts:
        assert backend.count_tokens(text) == len(reference(text, add_special_tokens=False)["input_ids"]), text
    backend.release()


def test_greedy_streamed_generation(tiny_llama):
    first, second = tiny_llama.generate([REQUEST, SHORT], [12, 9])
    again = tiny_llama.generate([REQUEST], [12])[0]
    assert again.text == first.text and first.new_tokens > 0 and second.new_tokens > 0
    pieces: dict[int, list[str]] = {}
    streamed = tiny_llama.generate(
        [REQUEST, SHORT], [12, 9], on_token=lambda index, piece: pieces.setdefault(index, []).append(piece)
    )
    assert [g.text for g in streamed] == [first.text, second.text]
    assert ["".join(pieces[0]), "".join(pieces[1])] == [first.text, second.text]
    assert len(pieces[0]) > 1 and [g.new_tokens for g in streamed] == [first.new_tokens, second.new_tokens]
    with pytest.raises(ValueError):
        tiny_llama.generate([REQUEST], [0])


def test_threads_leave_a_core_for_the_rest_unless_set(monkeypatch):
    """Two threads on this 2-core machine stalled behind OCR: 7-124 s for a receipt against 3-4 s with one."""
    from ocr_pipeline.llm.placement import llama_threads, physical_cores

    monkeypatch.delenv("OCR_LLAMA_THREADS", raising=False)
    assert llama_threads() == max(1, physical_cores() - 1)
    monkeypatch.setenv("OCR_LLAMA_THREADS", "3")
    assert llama_threads() == 3


def test_the_prompt_is_read_with_every_physical_core():
    from ocr_pipeline.llm.placement import llama_batch_threads, physical_cores

    assert llama_batch_threads(1) == physical_cores()
    assert llama_batch_threads(physical_cores() + 2) == physical_cores() + 2  # never fewer than decoding


def test_threads_can_be_set_for_a_busy_machine(tiny_gguf_path, monkeypatch):
    needs_llamacpp()
    monkeypatch.setenv("OCR_LLAMA_THREADS", "1")
    backend = LlamaCppBackend(ModelSource("t", tiny_gguf_path.parent, gguf_file=tiny_gguf_path.name))
    assert backend.threads == 1 and "1 threads" in backend.describe()
    backend.release()


def test_options_llama_cpp_cannot_honour(tiny_gguf_path, tiny_model_dir):
    needs_llamacpp()
    with pytest.raises(ModelError, match="bitsandbytes"):
        LlamaCppBackend(
            ModelSource("t", tiny_gguf_path.parent, gguf_file=tiny_gguf_path.name), LoadOptions(quantization="4bit")
        )
    with pytest.raises(ModelError, match="needs a .gguf file"):
        LlamaCppBackend(ModelSource("t", tiny_model_dir))


def test_a_truncated_gguf_is_refused_before_llama_cpp_maps_it(tiny_gguf_path, tmp_path):
    needs_llamacpp()
    (tmp_path / "cut.gguf").write_bytes(tiny_gguf_path.read_bytes()[:-512])
    with pytest.raises(ModelError, match="is cut short"):
        LlamaCppBackend(ModelSource("cut", tmp_path, gguf_file="cut.gguf"))


@pytest.mark.slow
def test_demo_model_load_stream_release_and_memory_back(demo_gguf_path):
    needs_llamacpp()
    backend = LlamaCppBackend(resolve_model("demo"))
    assert backend.placement.layers_by_device == {"cpu": 30} and backend.placement.dtype == "Q4_1"
    pieces: list[str] = []
    [answer] = backend.generate([REQUEST], [24], on_token=lambda index, piece: pieces.append(piece))
    assert answer.text.strip() and "".join(pieces) == answer.text and 0 < answer.new_tokens <= 24
    report = backend.release()
    assert report.before.rss_bytes - report.after.rss_bytes > 40 * 2**20  # the 98 MB file is unmapped
    assert "before: RSS" in report.describe()
    with pytest.raises(ModelError, match="released"):
        backend.generate([REQUEST], [4])
    backend.release()  # twice is harmless
