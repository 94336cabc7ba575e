"""The OpenAI-compatible server backend: a real llama.cpp server on the demo model, and a scripted
server for the failures (5xx then success, a slow answer, finish_reason length, truncation...)."""

from __future__ import annotations

import logging
import time

import pytest

from ocr_pipeline.correction import correct_text
from ocr_pipeline.errors import ModelError
from ocr_pipeline.llm import create_backend, server_health
from ocr_pipeline.llm.backends.openai import ENV_KEY, ENV_MODEL, ENV_URL, ServerSettings, normalize_url
from ocr_pipeline.llm.base import ModelBackend
from tests.fixtures_models import DROP, chat_answer, slow, status_reply

MESSAGES = [{"role": "system", "content": "Correct the OCR errors."}, {"role": "user", "content": "Tota1 100.00"}]
RECEIPT = (
    "RECEIPT\n"
    "Cafe Lumiere, 12 Rue de la Paix\n\n"
    "2 x Cafe creme      7.00\n"
    "1 x Croissant       2.50\n\n"
    "Tota1 EUR           9.50\n"
    "Paid by card on 2024-03-14"
)
FAST_RETRIES = {"retries": 2, "backoff": 0.05}


@pytest.fixture(autouse=True)
def no_server_in_the_environment(monkeypatch):
    for name in (ENV_URL, ENV_MODEL, ENV_KEY, "OCR_LLM_CONCURRENCY", "OCR_LLM_TIMEOUT", "OCR_BACKEND"):
        monkeypatch.delenv(name, raising=False)


def backend_on(fake, **settings):
    return create_backend("tiny", backend="openai", server_url=fake.url, **(FAST_RETRIES | settings))


# --- settings and health -----------------------------------------------------------------------


def test_urls_are_normalised_to_the_api_base():
    assert normalize_url("http://host:8000") == "http://host:8000/v1"
    assert normalize_url(" http://host:8000/v1/ ") == "http://host:8000/v1"
    with pytest.raises(ModelError, match="http://"):
        normalize_url("host:8000")


def test_settings_come_from_the_environment_and_never_show_the_key(monkeypatch):
    monkeypatch.setenv(ENV_URL, "http://gpu-host:8000")
    monkeypatch.setenv(ENV_MODEL, "Qwen/Qwen2.5-7B-Instruct")
    monkeypatch.setenv(ENV_KEY, "sk-secret-123")
    monkeypatch.setenv("OCR_LLM_CONCURRENCY", "16")
    settings = ServerSettings.from_env()
    assert (settings.url, settings.model, settings.api_key, settings.concurrency) == (
        "http://gpu-host:8000/v1",
        "Qwen/Qwen2.5-7B-Instruct",
        "sk-secret-123",
        16,
    )
    assert "sk-secret" not in repr(settings)
    monkeypatch.delenv(ENV_URL)
    with pytest.raises(ModelError, match=ENV_URL):
        ServerSettings.from_env()


def test_health_of_a_server_that_is_down():
    health = server_health("http://127.0.0.1:9", timeout=1)
    assert not health.ok and health.latency_ms is None
    assert "down or unreachable" in health.message
    with pytest.raises(ModelError, match="down or unreachable"):
        create_backend("x", backend="openai", server_url="http://127.0.0.1:9", connect_timeout=1)


def test_health_names_the_model_served_instead(fake_openai):
    health = server_health(fake_openai.url, "Qwen/Qwen2.5-3B-Instruct")
    assert not health.ok and "serves tiny, not Qwen/Qwen2.5-3B-Instruct" in health.message
    good = server_health(fake_openai.url)
    assert good.ok and good.model == "tiny" and good.server == "vLLM" and good.latency_ms > 0
    fake_openai.models.append({"id": "other", "owned_by": "vllm"})
    assert "choose one with --model" in server_health(fake_openai.url).message


# --- a real server: llama-cpp-python's, on the demo model --------------------------------------


@pytest.mark.slow
def test_a_document_is_corrected_through_a_real_server(llama_server):
    backend = create_backend(backend="openai", server_url=llama_server.url)
    assert isinstance(backend, ModelBackend) and backend.name == "demo"
    assert backend.health.server == "llama-cpp-python" and backend.placement is None
    pieces: dict[int, list[str]] = {}
    result = correct_text(
        RECEIPT,
        backend,
        "financial",
        token_budget=24,
        on_token=lambda index, piece: pieces.setdefault(index, []).append(piece),
    )
    sent = [chunk for chunk in result.chunks if chunk.raw.strip()]
    answered = [chunk for chunk in sent if chunk.candidate is not None]
    assert len(sent) >= 2 and answered, [chunk.reasons for chunk in sent]
    # the demo model rambles: an answer cut at max_tokens is the only failure allowed here
    assert all(chunk.error is None or "finish_reason length" in chunk.error for chunk in sent)
    assert all(chunk.new_tokens > 0 and "".join(pieces[chunk.index]).strip() for chunk in answered)
    for number in ("7.00", "2.50", "9.50", "2024-03-14"):  # the guard keeps every number
        assert number in result.corrected
    backend.release()


@pytest.mark.slow
def test_the_server_and_llama_cpp_in_process_answer_alike(llama_server, demo_gguf_path):
    """One greedy decoder two ways: through the server at concurrency 1 and 4, and in this process."""
    from ocr_pipeline.llm.backends.llamacpp import LlamaCppBackend
    from ocr_pipeline.llm.models import resolve_model

    one = create_backend(backend="openai", server_url=llama_server.url, concurrency=1)
    four = create_backend(backend="openai", server_url=llama_server.url, concurrency=4)
    local = LlamaCppBackend(resolve_model("demo"))
    try:
        answers = {
            name: [chunk.candidate for chunk in correct_text(RECEIPT, backend, token_budget=24).chunks]
            for name, backend in (("one", one), ("four", four), ("local", local))
        }
    finally:
        for backend in (one, four, local):
            backend.release()
    assert answers["one"] == answers["four"] == answers["local"]
    assert sum(answer is not None for answer in answers["one"]) >= 2


@pytest.mark.slow
def test_killing_the_server_mid_document_keeps_the_ocr_text_of_the_chunks_that_failed(demo_gguf_path):
    from ocr_pipeline.llm.backends.llamacpp import LlamaServer
    from tests.fixtures_models import needs_llamacpp

    needs_llamacpp()
    with LlamaServer(demo_gguf_path) as server:
        backend = create_backend(backend="openai", server_url=server.url, **FAST_RETRIES)

        def kill_after_the_first(done: int, total: int, chunk) -> None:
            if chunk.candidate is not None and server.process.poll() is None:
                server.process.kill()
                server.process.wait()

        started = time.perf_counter()
        result = correct_text(RECEIPT, backend, token_budget=24, batch_size=1, on_progress=kill_after_the_first)
        seconds = time.perf_counter() - started
    sent = [chunk for chunk in result.chunks if chunk.raw.strip()]
    assert sent[0].error is None and sent[0].candidate is not None
    failed = sent[1:]
    assert failed and all(chunk.status == "error" and chunk.text == chunk.raw for chunk in failed)
    assert all(
        "is down or unreachable" in chunk.reasons[0] and "the OCR text was kept" in chunk.reasons[0] for chunk in failed
    ), [chunk.reasons for chunk in failed]
    assert [w for w in result.warnings if "down or unreachable" in w]
    assert seconds < 30  # retried with back-off, then the later chunks fail at once


@pytest.mark.slow
def test_a_server_that_wants_a_key(demo_gguf_path, monkeypatch, caplog):
    from ocr_pipeline.llm.backends.llamacpp import LlamaServer
    from tests.fixtures_models import needs_llamacpp

    needs_llamacpp()
    caplog.set_level(logging.DEBUG)
    with LlamaServer(demo_gguf_path, api_key="sk-test-key-42") as server:
        with pytest.raises(ModelError, match="refused the API key") as refused:
            create_backend(backend="openai", server_url=server.url)
        monkeypatch.setenv(ENV_KEY, "sk-test-key-42")
        backend = create_backend(backend="openai", server_url=server.url)
        assert backend.health.ok  # /v1/models sits behind the key on this server
        assert not server_health(server.url, api_key="sk-wrong").ok
        backend.release()
    assert "sk-test-key-42" not in str(refused.value) + caplog.text + backend.describe() + repr(backend.settings)


# --- a scripted server: retries, time-outs, incomplete answers ---------------------------------


def test_500_then_200_is_retried(fake_openai):
    fake_openai.replies = [status_reply(500), status_reply(503), chat_answer("Total 100.00")]
    backend = backend_on(fake_openai)
    [answer] = backend.generate([MESSAGES], [16])
    assert answer.text == "Total 100.00" and len(fake_openai.requests) == 3


def test_429_honours_retry_after_and_a_dropped_connection_is_retried(fake_openai):
    fake_openai.replies = [status_reply(429, headers={"Retry-After": "0"}), DROP, chat_answer("ok")]
    assert backend_on(fake_openai).generate([MESSAGES], [16])[0].text == "ok"
    assert len(fake_openai.requests) == 3


def test_retries_give_up_with_the_last_status(fake_openai):
    fake_openai.default = status_reply(502, "bad gateway")
    with pytest.raises(ModelError, match=r"HTTP 502 \(bad gateway\)\. Gave up after 3 attempts"):
        backend_on(fake_openai).generate([MESSAGES], [16])


def test_a_bad_request_is_not_retried(fake_openai):
    fake_openai.default = status_reply(400, "max_tokens is too large")
    with pytest.raises(ModelError, match="refused the request .*max_tokens is too large"):
        backend_on(fake_openai).generate([MESSAGES], [16])
    assert len(fake_openai.requests) == 1


def test_a_slow_server_times_out(fake_openai):
    fake_openai.default = slow(chat_answer("late"), 2.0)
    backend = backend_on(fake_openai, read_timeout=0.5)
    started = time.perf_counter()
    with pytest.raises(ModelError, match="did not answer within 0 s|slow or overloaded"):
        backend.generate([MESSAGES], [16])
    assert time.perf_counter() - started < 1.9


def test_finish_reason_length_fails_the_chunk_and_keeps_its_ocr_text(fake_openai):
    fake_openai.default = chat_answer("Invoice number 4521 was", finish="length")
    result = correct_text("Invoice numbr 4521 was paid.", backend_on(fake_openai))
    [chunk] = result.chunks
    assert chunk.status == "error" and chunk.text == "Invoice numbr 4521 was paid."
    assert "finish_reason length" in chunk.reasons[0]


def test_length_can_be_handed_to_the_guard_instead(fake_openai):
    fake_openai.default = chat_answer("Invoice number 4521 was", finish="length")
    [answer] = backend_on(fake_openai, length_is_error=False).generate([MESSAGES], [5])
    assert answer.text == "Invoice number 4521 was"


def test_a_truncated_prompt_is_detected(fake_openai):
    fake_openai.default = chat_answer("Total 100.00", prompt_tokens=2)
    with pytest.raises(ModelError, match="truncated the prompt .*num_ctx"):
        backend_on(fake_openai).generate([MESSAGES], [16])


def test_requests_are_greedy_with_a_seed_limits_and_stops(fake_openai):
    backend_on(fake_openai).generate([MESSAGES], [37])
    [body] = fake_openai.requests
    assert body["temperature"] == 0 and body["seed"] == 0 and body["max_tokens"] == 37 and body["top_p"] == 1
    assert "<|im_end|>" in body["stop"] and body["model"] == "tiny" and body["messages"] == MESSAGES
    assert body["repetition_penalty"] == 1.0 and body["top_k"] == -1  # vLLM: over generation_config.json


def test_streaming_hands_pieces_over_on_the_calling_thread(fake_openai):
    import threading

    fake_openai.default = chat_answer("Total due 100.00 today", logprobs=[-0.1, -0.2, -0.3, -0.4])
    seen: list[tuple[int, str, str]] = []
    answers = backend_on(fake_openai).generate(
        [MESSAGES, MESSAGES],
        [16, 16],
        on_token=lambda index, piece: seen.append((index, piece, threading.current_thread().name)),
    )
    assert [answer.text for answer in answers] == ["Total due 100.00 today"] * 2
    assert answers[0].logprobs == [-0.1, -0.2, -0.3, -0.4] and answers[0].new_tokens == 4
    assert {name for _, _, name in seen} == {threading.current_thread().name}
    for index in (0, 1):
        assert "".join(piece for i, piece, _ in seen if i == index) == "Total due 100.00 today"
    assert all(body["stream"] for body in fake_openai.requests)


def test_a_stream_cut_without_a_finish_reason_fails(fake_openai):
    fake_openai.default = chat_answer("Total", finish=None)
    with pytest.raises(ModelError, match="without a finish reason"):
        backend_on(fake_openai).generate([MESSAGES], [16], on_token=lambda index, piece: None)


def test_logprobs_refused_are_dropped_for_good(fake_openai):
    fake_openai.replies = [status_reply(400, "logprobs is not supported by this model")]
    backend = backend_on(fake_openai)
    assert backend.generate([MESSAGES], [16])[0].text == "Total 100.00"
    backend.generate([MESSAGES], [16])
    assert [("logprobs" in body) for body in fake_openai.requests] == [True, False, False]


def test_a_failed_request_keeps_the_other_answers_of_its_batch(fake_openai):
    """correct_text retries a failed batch one chunk at a time: no answer is asked for twice."""
    fake_openai.default = lambda body: (
        chat_answer("x y", finish="length")
        if "bad" in body["messages"][-1]["content"]
        else chat_answer(body["messages"][-1]["content"])
    )(body)
    result = correct_text("good one\n\nbad two\n\ngood three", backend_on(fake_openai), token_budget=3)
    assert [chunk.status for chunk in result.chunks] == ["unchanged", "error", "unchanged"]
    assert len(fake_openai.requests) == 3


def test_token_counts_come_from_the_server_tokenizer_and_are_cached(fake_openai):
    backend = backend_on(fake_openai)
    assert backend.count_tokens("one two three") == 3
    assert backend.count_tokens("one two three") == 3
    assert fake_openai.tokenize_calls == 1


def test_without_a_tokenizer_endpoint_tokens_are_over_estimated(fake_openai):
    fake_openai.models = [{"id": "tiny", "owned_by": "library"}]  # Ollama has no tokenizer endpoint
    backend = backend_on(fake_openai)
    assert backend.health.server == "Ollama"
    assert backend.count_tokens("Invoice 4521 paid") >= len("Invoice 4521 paid") / 3
    assert fake_openai.tokenize_calls == 0


def test_concurrency_is_bounded(fake_openai):
    active, most = 0, 0
    import threading

    lock = threading.Lock()

    def counting(body):
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(0.1)
        with lock:
            active -= 1
        return chat_answer("ok")(body)

    fake_openai.default = counting
    backend = backend_on(fake_openai, concurrency=3)
    assert backend.supports_batching and backend.concurrency == 3
    assert len(backend.generate([MESSAGES] * 9, [8] * 9)) == 9
    assert most == 3
