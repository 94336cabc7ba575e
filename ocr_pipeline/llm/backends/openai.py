"""An OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, TGI) through `/v1/chat/completions`.

The model lives in the server, which may batch many requests (vLLM's continuous batching,
llama.cpp's `--parallel` slots) and scale past one machine; this backend sends up to
`concurrency` requests at once, from any number of documents, and keeps the answers in order.

Every request is greedy (temperature 0, a fixed seed), limited to the chunk's `max_tokens`, with
stop strings for the end-of-turn markers of common chat templates. What fails is one chunk's
failure, with a reason the user can act on: the server down, slow, answering another model,
refusing the key, an answer cut at `max_tokens` (finish_reason "length"), or a prompt the server
truncated. 429, 5xx and dropped connections are retried with exponential back-off.

Known traps:
- vLLM applies the model's `generation_config.json` (Qwen: repetition_penalty 1.05, top_k 20)
  unless started with `--generation-config vllm`; this backend also sends repetition_penalty 1.0
  and top_k -1 to a vLLM server, so its answers stay greedy either way.
- Ollama's `/v1` ignores `num_ctx` and silently cuts prompts to its default context (2,048-4,096
  tokens): an answer whose `usage.prompt_tokens` is below the prompt's word count is refused as
  truncated. Raise `OLLAMA_CONTEXT_LENGTH`, or create the model with a larger `num_ctx`.
- llama.cpp's server with several slots (`--parallel`) or prompt caching is not bit-for-bit
  deterministic: the same chunk may get a slightly different answer, which the guard still judges.

The API key (`OCR_LLM_API_KEY`) is sent as a bearer token and never printed or logged.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx

from ocr_pipeline.errors import ModelError, ModelReleased

from ..base import ChatMessages, Generation, TokenCallback, check_requests
from ..memory import ReleaseReport, memory_snapshot

log = logging.getLogger(__name__)

ENV_URL = "OCR_LLM_URL"
ENV_MODEL = "OCR_LLM_MODEL"
ENV_KEY = "OCR_LLM_API_KEY"
ENV_CONCURRENCY = "OCR_LLM_CONCURRENCY"
ENV_TIMEOUT = "OCR_LLM_TIMEOUT"
SEED = 0
STOP = ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>"]  # end-of-turn markers, should a template leak them
DOWN_SECONDS = 5.0  # after retries found the server down, later requests fail at once for this long
RETRY_AFTER_CAP = 30.0
KEPT_LIMIT = 256

# Server kinds, told by the `owned_by` of /v1/models, and the settings each needs to stay greedy.
SERVER_KINDS = {
    "vllm": "vLLM",
    "llamacpp": "llama.cpp server",
    "me": "llama-cpp-python",
    "library": "Ollama",
    "ollama": "Ollama",
}
GREEDY_EXTRAS = {
    "vLLM": {"repetition_penalty": 1.0, "top_k": -1},  # over generation_config.json defaults
    "llama.cpp server": {"repeat_penalty": 1.0},
    "llama-cpp-python": {"repeat_penalty": 1.0},  # its default 1.1 applies even at temperature 0
}
# Where each server kind counts tokens: (path from the server root, body key, answer key).
TOKENIZERS = {
    "vLLM": ("/tokenize", "prompt", "count"),
    "llama.cpp server": ("/tokenize", "content", "tokens"),
    "llama-cpp-python": ("/extras/tokenize/count", "input", "count"),
}


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ModelError(f"{name}={value!r} is not a number.") from None


def normalize_url(url: str) -> str:
    """The API base, ending in /v1 (`http://host:8000` and `http://host:8000/v1/` both work)."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ModelError(f"Server URL '{url}' must start with http:// or https://.")
    return url if url.endswith("/v1") else f"{url}/v1"


@dataclass(frozen=True)
class ServerSettings:
    url: str  # the API base, e.g. http://gpu-host:8000/v1
    model: str | None = None  # None: the one model the server serves
    api_key: str | None = field(default=None, repr=False)
    concurrency: int = 4  # requests in flight at once, over every document
    connect_timeout: float = 5.0
    read_timeout: float = 120.0  # longest wait for the next piece of an answer
    retries: int = 3
    backoff: float = 0.5  # seconds before the first retry, doubled for each next one
    logprobs: bool = True  # asked for; dropped for good if the server refuses them
    length_is_error: bool = True  # an answer cut at max_tokens fails its chunk; False hands it to the guard

    @classmethod
    def from_env(cls, url: str | None = None, model: str | None = None, **overrides: Any) -> ServerSettings:
        """Settings from the arguments, else OCR_LLM_URL, OCR_LLM_MODEL, OCR_LLM_API_KEY,
        OCR_LLM_CONCURRENCY and OCR_LLM_TIMEOUT."""
        url = url or os.environ.get(ENV_URL)
        if not url:
            raise ModelError(
                f"No server URL: give one (--server-url, or the Server URL on the Models page) or set "
                f"{ENV_URL}, e.g. http://localhost:8000/v1."
            )
        values = {
            "model": model or os.environ.get(ENV_MODEL) or None,
            "api_key": os.environ.get(ENV_KEY) or None,
            "concurrency": int(_env_number(ENV_CONCURRENCY, cls.concurrency)),
            "read_timeout": _env_number(ENV_TIMEOUT, cls.read_timeout),
        }
        settings = cls(normalize_url(url), **(values | overrides))
        if settings.concurrency < 1:
            raise ModelError(f"{ENV_CONCURRENCY} must be at least 1.")
        return settings


@dataclass(frozen=True)
class Health:
    ok: bool
    model: str | None  # the model requests will name (None when unknown)
    latency_ms: float | None  # of GET /v1/models
    message: str
    models: tuple[str, ...] = ()  # every model the server serves
    server: str | None = None  # vLLM, Ollama, llama.cpp server, llama-cpp-python, where told


def _client(settings: ServerSettings) -> httpx.Client:
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    limits = httpx.Limits(max_connections=settings.concurrency + 2, max_keepalive_connections=settings.concurrency + 2)
    return httpx.Client(headers=headers, timeout=timeout, limits=limits, trust_env=False)


def _excerpt(response: httpx.Response) -> str:
    try:
        body = response.json()
        message = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(message, dict):
            message = message.get("message") or message.get("detail") or message
        text = str(message)
    except ValueError:
        text = response.text
    return " ".join(text.split())[:300]


class _LogprobsRefused(Exception):
    """The server refused the `logprobs` field: the request is sent again without it."""


class _Http:
    """The one HTTP path of this module: requests with retries and readable errors."""

    def __init__(self, settings: ServerSettings):
        self.settings = settings
        self.client = _client(settings)
        self._down_until = 0.0
        self._down_message = ""

    def request(
        self, method: str, url: str, body: dict | None = None, *, stream: bool = False, retries: int | None = None
    ) -> httpx.Response:
        """Send with retries on 429, 5xx and dropped or refused connections, waiting `backoff`
        seconds doubled each time (or the server's Retry-After); other failures raise at once."""
        retries = self.settings.retries if retries is None else retries
        where = self.settings.url
        for attempt in range(retries + 1):
            if time.monotonic() < self._down_until:
                raise ModelError(self._down_message)
            delay = self.settings.backoff * 2**attempt
            try:
                response = self.client.send(self.client.build_request(method, url, json=body), stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                problem = (
                    f"The server at {where} is down or unreachable ({type(error).__name__}): start it, "
                    f"or check --server-url / {ENV_URL}."
                )
                down = True
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
                problem = f"The server at {where} dropped the connection ({type(error).__name__})."
                down = False
            except httpx.TimeoutException as error:
                raise ModelError(
                    f"The server at {where} did not answer within {self.settings.read_timeout:.0f} s "
                    f"({type(error).__name__}): it is slow or overloaded; raise {ENV_TIMEOUT} or lower "
                    f"{ENV_CONCURRENCY}."
                ) from error
            else:
                status = response.status_code
                if status < 400:
                    return response
                if stream:
                    response.read()
                response.close()
                detail = _excerpt(response)
                if body and body.get("logprobs") and "logprob" in detail.lower():
                    raise _LogprobsRefused
                if status in (401, 403):
                    raise ModelError(
                        f"The server at {where} refused the API key (HTTP {status}): set {ENV_KEY} to a key it accepts."
                    )
                if status == 404 and "model" in detail.lower():
                    raise ModelError(f"The server at {where} does not serve that model (HTTP 404: {detail}).")
                if status != 429 and status < 500:
                    raise ModelError(f"The server at {where} refused the request (HTTP {status}: {detail}).")
                problem = f"The server at {where} answered HTTP {status} ({detail})."
                down = False
                retry_after = response.headers.get("retry-after", "")
                if retry_after.replace(".", "", 1).isdigit():
                    delay = min(float(retry_after), RETRY_AFTER_CAP)
            if attempt < retries:
                log.info("%s Retrying in %.1f s (%d of %d).", problem, delay, attempt + 1, retries)
                time.sleep(delay)
        if down:
            self._down_until = time.monotonic() + DOWN_SECONDS
            self._down_message = problem
        tries = retries + 1
        raise ModelError(f"{problem} Gave up after {tries} attempt{'' if tries == 1 else 's'}.")


def _kind(models: list[dict]) -> str | None:
    owners = {str(entry.get("owned_by", "")).lower() for entry in models}
    return next((SERVER_KINDS[owner] for owner in owners if owner in SERVER_KINDS), None)


def _check_models(http: _Http, model: str | None) -> Health:
    """GET /v1/models once (no retries): reachable, which models, how fast."""
    where = http.settings.url
    started = time.perf_counter()
    try:
        response = http.request("GET", f"{where}/models", retries=0)
        listed = response.json().get("data") or []
    except ModelError as error:
        return Health(False, model, None, str(error))
    except (ValueError, AttributeError) as error:
        return Health(
            False,
            model,
            None,
            f"{where}/models did not answer with a model list ({error}): is this an OpenAI-compatible API?",
        )
    latency = round((time.perf_counter() - started) * 1000, 1)
    served = tuple(str(entry.get("id")) for entry in listed if isinstance(entry, dict))
    kind = _kind([entry for entry in listed if isinstance(entry, dict)])
    if not served:
        return Health(False, model, latency, f"The server at {where} serves no model.", served, kind)
    if model is None:
        if len(served) > 1:
            return Health(
                False,
                None,
                latency,
                f"The server at {where} serves {len(served)} models "
                f"({', '.join(served)}): choose one with --model or {ENV_MODEL}.",
                served,
                kind,
            )
        model = served[0]
    elif model not in served:
        return Health(
            False,
            model,
            latency,
            f"The server at {where} serves {', '.join(served)}, not {model}: "
            f"choose one of them with --model or {ENV_MODEL}.",
            served,
            kind,
        )
    label = f" ({kind})" if kind else ""
    return Health(True, model, latency, f"{model}{label} at {where}, answered in {latency:.0f} ms", served, kind)


def server_health(
    url: str | None = None, model: str | None = None, *, api_key: str | None = None, timeout: float = 5.0
) -> Health:
    """Whether the server answers, serves `model` (or exactly one model when None), and how fast.

    `url`, `model` and the key default to OCR_LLM_URL, OCR_LLM_MODEL and OCR_LLM_API_KEY.
    """
    try:
        settings = ServerSettings.from_env(url, model, connect_timeout=timeout, read_timeout=timeout, concurrency=1)
    except ModelError as error:
        return Health(False, model, None, str(error))
    if api_key is not None:
        settings = dataclasses.replace(settings, api_key=api_key)
    http = _Http(settings)
    try:
        return _check_models(http, settings.model)
    finally:
        http.client.close()


def _words(messages: ChatMessages) -> int:
    return sum(len(message["content"].split()) for message in messages)


class OpenAIBackend:
    """`ModelBackend` on an OpenAI-compatible server: up to `concurrency` requests at once.

    Requests of one `generate` call run concurrently; `on_token` is called on the calling thread
    (the pieces of concurrent answers are handed over as they arrive). When one request of a call
    fails, the call raises that chunk's error and keeps the other outcomes for the one-by-one
    retry `correct_text` then makes, so no answer is asked for twice.
    """

    kind = "openai"
    supports_batching = True
    placement = None

    def __init__(self, settings: ServerSettings):
        self.settings = settings
        self._http = _Http(settings)
        started = time.perf_counter()
        health = _check_models(self._http, settings.model)
        if not health.ok:
            self._http.client.close()
            raise ModelError(health.message)
        self.load_seconds = time.perf_counter() - started
        self.health = health
        self.name = health.model
        self.concurrency = settings.concurrency
        self._extras = GREEDY_EXTRAS.get(health.server or "", {})
        self._tokenizer = TOKENIZERS.get(health.server or "")
        self._logprobs = settings.logprobs
        self._pool = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="ocr-llm")
        self._counts: dict[str, int] = {}
        self._kept: dict[str, Generation | ModelError] = {}
        self._lock = threading.Lock()
        self.released = False
        log.info("Using %s", self.describe())

    def describe(self) -> str:
        return f"server {self.health.message}; up to {self.concurrency} requests at once"

    # --- tokens ------------------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """The server's own count where it offers a tokenizer endpoint (vLLM, llama.cpp), else an
        over-estimate (one token per 3 bytes, at least one per word), so chunks stay under budget."""
        with self._lock:
            if text in self._counts:
                return self._counts[text]
        count = self._server_count(text) if self._tokenizer else None
        if count is None:
            count = max(len(text.split()), math.ceil(len(text.encode("utf-8")) / 3))
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts.clear()
            self._counts[text] = count
        return count

    def _server_count(self, text: str) -> int | None:
        path, body_key, answer_key = self._tokenizer
        url = self.settings.url.removesuffix("/v1") + path
        try:
            answer = self._http.request("POST", url, {"model": self.name, body_key: text}).json()[answer_key]
        except (ModelError, ValueError, KeyError, TypeError) as error:
            log.info("No token counts from %s (%s): estimating from the text instead.", url, error)
            self._tokenizer = None
            return None
        return answer if isinstance(answer, int) else len(answer)

    # --- generation --------------------------------------------------------------------------------

    def generate(
        self, requests: list[ChatMessages], max_new_tokens: list[int], on_token: TokenCallback | None = None
    ) -> list[Generation]:
        if self.released:
            raise ModelReleased(f"The connection to {self.name} was closed: connect again.")
        if not check_requests(requests, max_new_tokens):
            return []
        pieces: queue.Queue | None = queue.Queue() if on_token else None
        futures: list[Future] = [
            self._pool.submit(self._outcome, index, messages, limit, pieces)
            for index, (messages, limit) in enumerate(zip(requests, max_new_tokens))
        ]
        if pieces is not None:
            while not all(future.done() for future in futures):
                self._hand_over(pieces, on_token, wait=0.05)
            self._hand_over(pieces, on_token, wait=0)
        outcomes = [future.result() for future in futures]
        failures = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        if failures:
            if len(requests) > 1:
                with self._lock:
                    for messages, limit, outcome in zip(requests, max_new_tokens, outcomes):
                        self._kept[self._key(messages, limit)] = outcome
                    while len(self._kept) > KEPT_LIMIT:
                        self._kept.pop(next(iter(self._kept)))
            raise failures[0]
        return outcomes

    @staticmethod
    def _hand_over(pieces: queue.Queue, on_token: TokenCallback, wait: float) -> None:
        try:
            index, piece = pieces.get(timeout=wait) if wait else pieces.get_nowait()
            on_token(index, piece)
            while True:
                index, piece = pieces.get_nowait()
                on_token(index, piece)
        except queue.Empty:
            pass

    @staticmethod
    def _key(messages: ChatMessages, limit: int) -> str:
        return json.dumps([messages, limit], sort_keys=True)

    def _outcome(
        self, index: int, messages: ChatMessages, limit: int, pieces: queue.Queue | None
    ) -> Generation | ModelError:
        with self._lock:
            kept = self._kept.pop(self._key(messages, limit), None)
        if kept is not None:
            return kept
        try:
            return self._complete(index, messages, limit, pieces)
        except ModelError as error:
            return error

    def _body(self, messages: ChatMessages, limit: int, stream: bool) -> dict:
        body = {
            "model": self.name,
            "messages": messages,
            "temperature": 0,
            "top_p": 1,
            "seed": SEED,
            "max_tokens": limit,
            "stop": STOP,
            "stream": stream,
            **self._extras,
        }
        if stream:
            body["stream_options"] = {"include_usage": True}
        if self._logprobs:
            body["logprobs"] = True
        return body

    def _complete(self, index: int, messages: ChatMessages, limit: int, pieces: queue.Queue | None) -> Generation:
        started = time.perf_counter()
        url = f"{self.settings.url}/chat/completions"
        stream = pieces is not None
        try:
            response = self._http.request("POST", url, self._body(messages, limit, stream), stream=stream)
        except _LogprobsRefused:
            log.info("%s refuses logprobs: asking without them from now on.", self.settings.url)
            self._logprobs = False
            response = self._http.request("POST", url, self._body(messages, limit, stream), stream=stream)
        try:
            text, finish, usage, logprobs = (
                self._read_stream(response, index, pieces) if stream else self._read_answer(response)
            )
        except httpx.TimeoutException as error:
            raise ModelError(
                f"The server at {self.settings.url} stopped answering for over "
                f"{self.settings.read_timeout:.0f} s: it is slow or overloaded."
            ) from error
        except (httpx.TransportError, httpx.StreamError) as error:
            raise ModelError(
                f"The server at {self.settings.url} dropped the connection mid-answer ({type(error).__name__})."
            ) from error
        finally:
            response.close()
        seconds = time.perf_counter() - started
        if finish == "length" and self.settings.length_is_error:
            raise ModelError(
                f"the answer reached max_tokens={limit} before the model finished (finish_reason "
                "length), so it is incomplete"
            )
        if finish is None:
            raise ModelError(
                "the server ended the answer without a finish reason (cut short; a llama-cpp-python "
                "server does so when started without --interrupt_requests false)"
            )
        prompt_tokens = (usage or {}).get("prompt_tokens")
        if isinstance(prompt_tokens, int) and prompt_tokens < _words(messages):
            raise ModelError(
                f"the server read {prompt_tokens} tokens of a prompt of {_words(messages)} words or more: it truncated "
                "the prompt (Ollama's /v1 ignores num_ctx: raise OLLAMA_CONTEXT_LENGTH or the model's num_ctx)"
            )
        new_tokens = (usage or {}).get("completion_tokens")
        if not isinstance(new_tokens, int):
            new_tokens = len(logprobs) if logprobs else self.count_tokens(text) if text else 0
        return Generation(text, new_tokens, seconds, logprobs)

    def _read_answer(self, response: httpx.Response) -> tuple[str, str | None, dict | None, list[float] | None]:
        try:
            answer = response.json()
            choice = answer["choices"][0]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise ModelError(
                f"The server at {self.settings.url} sent an answer that is not a chat completion "
                f"({type(error).__name__})."
            ) from error
        text = (choice.get("message") or {}).get("content") or ""
        return text, choice.get("finish_reason"), answer.get("usage"), _logprobs(choice)

    def _read_stream(
        self, response: httpx.Response, index: int, pieces: queue.Queue
    ) -> tuple[str, str | None, dict | None, list[float] | None]:
        parts: list[str] = []
        finish, usage, logprobs = None, None, []
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue  # blank separators, ": ping" comments
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                event = json.loads(data)
            except ValueError:
                continue
            if "error" in event:
                raise ModelError(f"The server at {self.settings.url} failed mid-answer: {event['error']}")
            usage = event.get("usage") or usage
            for choice in event.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    parts.append(piece)
                    pieces.put((index, piece))
                logprobs.extend(_logprobs(choice) or [])
                finish = choice.get("finish_reason") or finish
        return "".join(parts), finish, usage, logprobs or None

    def release(self) -> ReleaseReport:
        """Close the connections; the model stays in the server."""
        before = memory_snapshot()
        self.released = True
        self._pool.shutdown(wait=True)
        self._http.client.close()
        return ReleaseReport(before, memory_snapshot())


def _logprobs(choice: dict) -> list[float] | None:
    content = (choice.get("logprobs") or {}).get("content")
    if not content:
        return None
    return [entry["logprob"] for entry in content if isinstance(entry, dict) and "logprob" in entry]


def create(settings: ServerSettings) -> OpenAIBackend:
    return OpenAIBackend(settings)
