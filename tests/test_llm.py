"""The transformers backend: loading, placement, generation, streaming and release, on a tiny random model (CPU)."""

from __future__ import annotations

import gc
import importlib.machinery
import shutil
import sys
import threading
import types
import weakref

import pytest

from ocr_pipeline.errors import ModelError
from ocr_pipeline.llm.backends.transformers import TransformersBackend, cpu_has_native_bf16, load_model, release_model
from ocr_pipeline.llm.base import Generation, GenerationBackend
from ocr_pipeline.llm.memory import give_memory_back, imported_torch, memory_snapshot
from ocr_pipeline.llm.models import ModelSource, list_models
from ocr_pipeline.llm.placement import (
    LoadOptions,
    build_gpu_layer_map,
    count_layers_by_device,
    cuda_available,
    decoder_layout,
    gpu_layer_map_for,
)
from tests.fixtures_models import build_tiny_chat_model

CPU_FP32 = LoadOptions(device="cpu", dtype="float32")
REQUESTS = [
    [{"role": "user", "content": "Invoice 4521 was paid on 12 March."}],
    [
        {"role": "system", "content": "Correct the OCR errors."},
        {"role": "user", "content": "Tbe qnick brown fox jumps ovcr the lazy dog, 37.5 times."},
    ],
    [{"role": "user", "content": "date"}],
]
LIMITS = [12, 7, 9]


def qwen_like_names(layers: int) -> list[str]:
    return [
        "model.embed_tokens",
        *(f"model.layers.{index}" for index in range(layers)),
        "model.norm",
        "model.rotary_emb",
        "lm_head",
    ]


# --- placement (pure) --------------------------------------------------------------------------


def test_gpu_layer_map_splits_after_n_layers():
    device_map = build_gpu_layer_map(qwen_like_names(4), "model.layers", 2, keep_on_gpu={"model.rotary_emb"})
    assert device_map == {
        "model.embed_tokens": "cuda:0",
        "model.layers.0": "cuda:0",
        "model.layers.1": "cuda:0",
        "model.layers.2": "cpu",
        "model.layers.3": "cpu",
        "model.norm": "cpu",
        "model.rotary_emb": "cuda:0",
        "lm_head": "cpu",
    }


def test_gpu_layer_map_edges():
    names = qwen_like_names(3)
    assert set(build_gpu_layer_map(names, "model.layers", 3).values()) == {"cuda:0"}
    assert set(build_gpu_layer_map(names, "model.layers", 10).values()) == {"cuda:0"}
    no_layers = build_gpu_layer_map(names, "model.layers", 0)
    assert no_layers["model.embed_tokens"] == "cuda:0"
    assert [no_layers[f"model.layers.{index}"] for index in range(3)] == ["cpu"] * 3
    tied = build_gpu_layer_map(names, "model.layers", 1, keep_on_gpu={"lm_head"})
    assert tied["lm_head"] == "cuda:0" and tied["model.norm"] == "cpu"
    with pytest.raises(ModelError):
        build_gpu_layer_map(["encoder"], "model.layers", 1)


def test_layers_are_counted_per_device():
    split = build_gpu_layer_map(qwen_like_names(4), "model.layers", 1)
    assert count_layers_by_device(split, "model.layers", 4) == {"cuda:0": 1, "cpu": 3}
    assert count_layers_by_device({"": "cpu"}, "model.layers", 4) == {"cpu": 4}
    accelerate_style = {"model.embed_tokens": "0", "model.layers": "0", "lm_head": "cpu"}
    assert count_layers_by_device(accelerate_style, "model.layers", 4) == {"cuda:0": 4}


def test_decoder_layout_of_a_real_architecture(tiny_model_dir):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(tiny_model_dir))
    names, prefix = decoder_layout(skeleton)
    assert prefix == "model.layers"
    assert names == qwen_like_names(2)


def test_gpu_layer_map_for_a_tied_model(tmp_path):
    """The map built from the model itself: weightless rotary embeddings and a tied head stay on the GPU."""
    from transformers import AutoConfig

    folder = build_tiny_chat_model(tmp_path, layers=3)
    config = AutoConfig.from_pretrained(folder)
    config.tie_word_embeddings = True
    config.save_pretrained(folder)
    device_map = gpu_layer_map_for(folder, 1)
    assert device_map["lm_head"] == "cuda:0" and device_map["model.rotary_emb"] == "cuda:0"
    assert [device_map[f"model.layers.{index}"] for index in range(3)] == ["cuda:0", "cpu", "cpu"]


@pytest.mark.parametrize(
    "options",
    [
        {"quantization": "8bit"},
        {"device": "tpu"},
        {"dtype": "int4"},
        {"gpu_layers": "half"},
        {"gpu_layers": -1},
    ],
)
def test_bad_load_options(options):
    with pytest.raises(ModelError):
        LoadOptions(**options)


def test_asking_for_cuda_without_it(tiny_model_dir):
    if cuda_available():
        pytest.skip("CUDA is present")
    with pytest.raises(ModelError, match="no CUDA"):
        load_model(ModelSource("tiny", tiny_model_dir), LoadOptions(device="cuda"))


# --- loading -----------------------------------------------------------------------------------


def test_load_reports_placement_time_and_memory(tiny_backend):
    loaded = tiny_backend.loaded
    assert loaded.placement.layers_by_device == {"cpu": 2}
    assert not loaded.placement.on_cuda
    assert loaded.placement.dtype == "float32"
    assert loaded.load_seconds > 0
    assert loaded.memory_after.rss_bytes > 0
    assert "2 layers: 2 on cpu" in loaded.describe()
    assert loaded.tokenizer.padding_side == "left"
    assert loaded.tokenizer.pad_token is not None


def test_load_by_name_from_the_model_folder(tiny_model_dir, tmp_path):
    shutil.copytree(tiny_model_dir, tmp_path / "org" / "tiny")
    loaded = load_model("org/tiny", CPU_FP32, model_folder=tmp_path)
    assert loaded.name == "org/tiny"
    release_model(loaded)


@pytest.mark.parametrize("quantization, layer_type", [("int8", "Linear8bitLt"), ("4bit", "Linear4bit")])
def test_bitsandbytes_on_cpu(tiny_model_dir, quantization, layer_type, caplog):
    loaded = load_model(ModelSource("tiny", tiny_model_dir), LoadOptions(device="cpu", quantization=quantization))
    try:
        assert type(loaded.model.model.layers[0].mlp.up_proj).__name__ == layer_type
        assert loaded.placement.quantization == quantization
        [generation] = TransformersBackend(loaded).generate([REQUESTS[0]], [5])
        assert generation.new_tokens > 0
        assert "will be cast" not in caplog.text and "kernels-community" not in caplog.text
    finally:
        release_model(loaded)


def test_default_cpu_dtype_follows_the_cpu(tiny_model_dir):
    loaded = load_model(ModelSource("tiny", tiny_model_dir), LoadOptions(device="cpu"))
    assert loaded.placement.dtype == ("bfloat16" if cpu_has_native_bf16() else "float32")
    release_model(loaded)


def test_gguf_is_converted_once_then_loaded_as_a_folder(tiny_gguf_path, tmp_path):
    loaded = load_model(str(tiny_gguf_path), CPU_FP32, model_folder=tmp_path)
    converted = loaded.folder
    assert converted.parent == tmp_path / ".converted" and converted.name.endswith("-float32")
    assert loaded.placement.layers_by_device == {"cpu": 2}
    assert TransformersBackend(loaded).generate([REQUESTS[0]], [6])[0].new_tokens > 0
    release_model(loaded)
    stamp = (converted / "model.safetensors").stat().st_mtime_ns
    again = load_model(str(tiny_gguf_path), CPU_FP32, model_folder=tmp_path)
    assert again.folder == converted and (converted / "model.safetensors").stat().st_mtime_ns == stamp
    release_model(again)
    assert [entry.name for entry in list_models(tmp_path) if not entry.preset] == []


def test_gguf_with_4bit(tiny_gguf_path, tmp_path):
    loaded = load_model(
        ModelSource("g", tiny_gguf_path.parent, gguf_file=tiny_gguf_path.name),
        LoadOptions(device="cpu", quantization="4bit"),
        model_folder=tmp_path,
    )
    assert type(loaded.model.model.layers[0].mlp.up_proj).__name__ == "Linear4bit"
    release_model(loaded)


# --- generation --------------------------------------------------------------------------------


def test_backend_implements_the_protocol(tiny_backend):
    assert isinstance(tiny_backend, GenerationBackend)
    assert tiny_backend.supports_batching is False  # on CPU
    assert tiny_backend.count_tokens("Invoice 4521") > 0


def test_greedy_generation_returns_only_new_text(tiny_backend):
    first = tiny_backend.generate(REQUESTS, LIMITS)
    again = tiny_backend.generate(REQUESTS, LIMITS)
    assert all(isinstance(g, Generation) and g.seconds > 0 for g in first)
    assert [g.text for g in first] == [g.text for g in again]  # greedy despite sampling defaults
    assert all(0 < g.new_tokens <= limit for g, limit in zip(first, LIMITS))
    assert len({g.text for g in first}) == len(first)  # the random model still depends on the prompt
    prompts = [request[-1]["content"] for request in REQUESTS]
    assert not any(prompt in g.text or "<|im_" in g.text for g, prompt in zip(first, prompts))


def test_batch_with_left_padding_equals_one_by_one(tiny_backend):
    batched = TransformersBackend(tiny_backend.loaded, batching=True)
    one_by_one = tiny_backend.generate(REQUESTS, LIMITS)
    together = batched.generate(REQUESTS, LIMITS)
    assert [(g.text, g.new_tokens) for g in together] == [(g.text, g.new_tokens) for g in one_by_one]
    assert len({g.seconds for g in together}) == 1  # one generate call


def test_streaming_pieces_make_the_final_text(tiny_backend):
    pieces: dict[int, list[str]] = {}
    results = tiny_backend.generate(
        REQUESTS, LIMITS, on_token=lambda index, text: pieces.setdefault(index, []).append(text)
    )
    assert sorted(pieces) == [0, 1, 2]
    assert ["".join(pieces[index]) for index in range(3)] == [g.text for g in results]
    assert max(len(parts) for parts in pieces.values()) > 1  # streamed, not handed over whole


def test_batch_mode_hands_each_text_over_once(tiny_backend):
    pieces: list[tuple[int, str]] = []
    results = TransformersBackend(tiny_backend.loaded, batching=True).generate(
        REQUESTS, LIMITS, on_token=lambda index, text: pieces.append((index, text))
    )
    assert pieces == [(index, g.text) for index, g in enumerate(results)]


def test_one_generation_at_a_time(tiny_backend):
    expected = tiny_backend.generate(REQUESTS, LIMITS)
    results: list[list[Generation]] = []

    def worker() -> None:
        results.append(tiny_backend.generate(REQUESTS, LIMITS))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [[g.text for g in result] for result in results] == [[g.text for g in expected]] * 3


def test_mismatched_limits(tiny_backend):
    with pytest.raises(ValueError):
        tiny_backend.generate(REQUESTS, [5])
    with pytest.raises(ValueError):
        tiny_backend.generate(REQUESTS[:1], [0])
    assert tiny_backend.generate([], []) == []


# --- release -----------------------------------------------------------------------------------


def test_release_drops_every_reference(tiny_model_dir):
    loaded = load_model(ModelSource("tiny", tiny_model_dir), CPU_FP32)
    backend = TransformersBackend(loaded)
    backend.generate([REQUESTS[0]], [4], on_token=lambda *args: None)
    model_ref = weakref.ref(loaded.model)
    tokenizer_ref = weakref.ref(loaded.tokenizer)
    report = release_model(loaded)
    gc.collect()
    assert model_ref() is None and tokenizer_ref() is None
    assert loaded.released
    assert report.before.rss_bytes > 0 and report.after.rss_bytes > 0
    assert "before: RSS" in report.describe()
    with pytest.raises(ModelError, match="released"):
        backend.generate([REQUESTS[0]], [4])


def test_memory_is_read_without_a_torch_still_being_imported(monkeypatch):
    """Another thread importing torch leaves a half-initialised module (no `torch.cuda`) in sys.modules."""
    half = types.ModuleType("torch")
    half.__spec__ = importlib.machinery.ModuleSpec("torch", None)
    half.__spec__._initializing = True
    monkeypatch.setitem(sys.modules, "torch", half)
    assert imported_torch() is None
    assert memory_snapshot().cuda_allocated_bytes is None
    give_memory_back()
    from dashboard import widgets

    widgets.memory_gauges()  # outside a page run streamlit draws nothing, but the code runs


def test_load_release_cycles_do_not_grow_memory(tmp_path):
    """A ~34 MB model loaded and released 3 times after a warm-up: a leak would add ~34 MB a cycle."""
    folder = build_tiny_chat_model(tmp_path, layers=8, hidden=256)
    model_bytes = (folder / "model.safetensors").stat().st_size

    def cycle() -> None:
        loaded = load_model(ModelSource("medium", folder), CPU_FP32)
        TransformersBackend(loaded).generate([REQUESTS[1]], [8])
        release_model(loaded)

    cycle()  # warm-up: torch grows its caches and thread pools once
    baseline = memory_snapshot().rss_bytes
    for _ in range(3):
        cycle()
    growth = memory_snapshot().rss_bytes - baseline
    assert growth < model_bytes / 2, f"RSS grew {growth / 2**20:.1f} MiB over 3 cycles"


# --- errors ------------------------------------------------------------------------------------


def test_unknown_model_offline_names_where_it_looked(tmp_path):
    with pytest.raises(ModelError) as error:
        load_model("someone/unknown-model", model_folder=tmp_path)
    assert str(tmp_path / "someone" / "unknown-model") in str(error.value)


def test_folder_without_weights(tmp_path, tiny_model_dir):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "m")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="has no weights"):
        load_model(ModelSource("m", folder))


def test_model_without_chat_template(tmp_path, tiny_model_dir):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "m")
    (folder / "chat_template.jinja").unlink()
    with pytest.raises(ModelError, match="no chat template"):
        load_model(ModelSource("m", folder), CPU_FP32)


def test_corrupt_weights(tmp_path, tiny_model_dir):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "m")
    (folder / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(ModelError, match="Cannot load model 'm'"):
        load_model(ModelSource("m", folder), CPU_FP32)


def test_corrupt_gguf(tmp_path):
    (tmp_path / "broken.gguf").write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)
    with pytest.raises(ModelError, match="broken.gguf"):
        load_model(ModelSource("broken", tmp_path, gguf_file="broken.gguf"), CPU_FP32, model_folder=tmp_path)
    assert not list((tmp_path / ".converted").glob("*"))


def test_truncated_gguf_is_cut_short_not_a_reshape_error(tmp_path, tiny_gguf_path):
    (tmp_path / "cut.gguf").write_bytes(tiny_gguf_path.read_bytes()[:-4096])
    with pytest.raises(ModelError, match=r"cut.gguf is cut short \(\d+ of \d+ bytes\): download it again"):
        load_model(str(tmp_path / "cut.gguf"), CPU_FP32, model_folder=tmp_path)


def test_gguf_that_is_not_gguf(tmp_path):
    (tmp_path / "fake.gguf").write_text("hello")
    with pytest.raises(ModelError, match="GGUF header"):
        load_model(str(tmp_path / "fake.gguf"))


# --- the demo model (real weights) -------------------------------------------------------------


@pytest.mark.slow
def test_demo_model_end_to_end(demo_gguf_path, tmp_path):
    loaded = load_model("demo", model_folder=tmp_path)
    assert loaded.placement.layers_by_device == {"cpu": 30}
    pieces: list[str] = []
    [generation] = TransformersBackend(loaded).generate(
        [
            [
                {"role": "system", "content": "Correct the OCR errors. Reply with the corrected sentence only."},
                {"role": "user", "content": "Tbe qnick brown fox jumps ovcr the lazy dog."},
            ]
        ],
        [24],
        on_token=lambda index, text: pieces.append(text),
    )
    assert generation.text.strip() and "".join(pieces) == generation.text
    assert 0 < generation.new_tokens <= 24
    model_ref = weakref.ref(loaded.model)
    release_model(loaded)
    assert model_ref() is None


# --- GPU (skipped without CUDA) ----------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("quantization", ["none", "int8", "4bit"])
def test_gpu_layers_offload(tiny_model_dir, quantization):
    loaded = load_model(ModelSource("tiny", tiny_model_dir), LoadOptions(quantization=quantization, gpu_layers=1))
    try:
        assert loaded.placement.layers_by_device == {"cuda:0": 1, "cpu": 1}
        assert loaded.memory_after.cuda_allocated_bytes > 0
        backend = TransformersBackend(loaded)
        assert backend.supports_batching
        assert len(backend.generate(REQUESTS, LIMITS)) == 3
    finally:
        report = release_model(loaded)
    assert report.after.cuda_allocated_bytes < report.before.cuda_allocated_bytes


@pytest.mark.gpu
def test_gpu_auto_placement_with_budget(tiny_model_dir):
    loaded = load_model(ModelSource("tiny", tiny_model_dir), LoadOptions(gpu_layers="auto", gpu_memory_gib=1))
    assert loaded.placement.on_cuda
    release_model(loaded)


@pytest.mark.gpu
def test_gpu_batch_equals_one_by_one(tiny_model_dir):
    loaded = load_model(ModelSource("tiny", tiny_model_dir), LoadOptions(dtype="float32"))
    batched = TransformersBackend(loaded).generate(REQUESTS, LIMITS)
    one_by_one = TransformersBackend(loaded, batching=False).generate(REQUESTS, LIMITS)
    assert [g.text for g in batched] == [g.text for g in one_by_one]
    release_model(loaded)
