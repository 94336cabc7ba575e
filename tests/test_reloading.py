"""A release while someone is half-way through a document costs them a reload, never their work."""

import threading

import pytest

from ocr_pipeline.correction import correct_text
from ocr_pipeline.errors import ModelReleased
from ocr_pipeline.llm.backends.transformers import TransformersBackend, load_model, release_model
from ocr_pipeline.llm.models import ModelSource
from ocr_pipeline.llm.placement import LoadOptions
from ocr_pipeline.reloading import ReloadingBackend

DOCUMENT = "\n\n".join(f"Paragraph {index}: Tota1 due $1O0.00 on 2023-07-15." for index in range(6))


class SharedModel:
    """What the dashboard's model cache does: load on demand, load again once released."""

    def __init__(self, folder):
        self.folder = folder
        self.loaded = None
        self.loads = 0
        self.lock = threading.Lock()

    def acquire(self):
        with self.lock:
            if self.loaded is None or self.loaded.released:
                self.loaded = load_model(ModelSource("tiny", self.folder), LoadOptions(device="cpu", dtype="float32"))
                self.loads += 1
            return TransformersBackend(self.loaded)

    def release(self):
        with self.lock:
            loaded = self.loaded
        return release_model(loaded)


def test_a_plain_backend_fails_once_its_model_is_released(tiny_model_dir):
    """What happened before: "Model 'demo' was released: load it again." for everyone queued."""
    shared = SharedModel(tiny_model_dir)
    backend = shared.acquire()
    shared.release()
    with pytest.raises(ModelReleased):
        backend.generate([[{"role": "user", "content": "x"}]], [2])


def test_release_between_two_chunks_reloads_the_model_for_the_next(tiny_model_dir):
    shared = SharedModel(tiny_model_dir)
    backend = ReloadingBackend(shared.acquire, "tiny")

    def release_after_the_second(done, total, chunk):
        if done == 2:
            shared.release()

    result = correct_text(DOCUMENT, backend, token_budget=24, on_progress=release_after_the_second)
    assert len(result.chunks) >= 4
    assert all(chunk.error is None for chunk in result.chunks), [chunk.error for chunk in result.chunks]
    assert shared.loads == 2


def test_release_from_another_session_waits_for_the_running_chunk(tiny_model_dir):
    """Release takes the model's lock: it frees the weights after the chunk, not under it."""
    shared = SharedModel(tiny_model_dir)
    backend = ReloadingBackend(shared.acquire, "tiny")
    started, releases = threading.Event(), []

    def on_token(index, piece):
        if not started.is_set():
            started.set()
            threading.Thread(target=lambda: releases.append(shared.release())).start()

    result = correct_text(DOCUMENT, backend, token_budget=24, on_token=on_token)
    assert started.is_set() and all(chunk.error is None for chunk in result.chunks)
    assert shared.loads >= 2 and releases, "the release ran, and the document went on with a reloaded model"
