"""Model fixtures: a tiny random Qwen2 chat model built offline, a backend on it, the demo GGUF,
a fake Hugging Face Hub on 127.0.0.1 for the download code, a real llama.cpp server on the demo
GGUF, and a scripted OpenAI-compatible server for the failures a real one will not stage on demand.

Also skips `gpu`-marked tests where torch sees no CUDA.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
TRAINING_TEXT = [
    "The quick brown fox jumps over the lazy dog.",
    "Invoice number 4521 was paid on 12 March 2024 for 1,250.00 euros.",
    "Scanned documents often contain errors such as rn for m and 0 for O.",
    "Please correct the OCR errors in the following text without changing numbers.",
    "system user assistant: the total amount is 37.5 and the date is 2023-11-05.",
    "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?()-'\"",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_items:
        return  # do not pay for importing torch when no GPU test was collected
    from ocr_pipeline.llm.placement import cuda_available

    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA; torch sees no GPU here")
    for item in gpu_items:
        item.add_marker(skip)


def build_tiny_tokenizer(folder: Path):
    """A byte-level BPE trained on a few sentences, with ChatML special tokens and template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(TRAINING_TEXT * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", chat_template=CHATML_TEMPLATE)
    tokenizer.save_pretrained(folder)
    return tokenizer


def build_tiny_chat_model(folder: Path, *, layers: int = 2, hidden: int = 64) -> Path:
    """A random Qwen2 with the tiny tokenizer, in well under a second (after the imports)."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tokenizer = build_tiny_tokenizer(folder)
    im_end, end_of_text = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        initializer_range=0.2,  # large random weights: greedy output varies with the prompt
        tie_word_embeddings=False,
        eos_token_id=im_end,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config)
    # Sampling defaults as the Qwen repos ship them: generation must stay greedy regardless.
    model.generation_config = GenerationConfig(
        do_sample=True,
        temperature=0.7,
        top_p=0.8,
        top_k=20,
        repetition_penalty=1.05,
        eos_token_id=[im_end, end_of_text],
    )
    model.save_pretrained(folder)
    return folder


def build_tiny_gguf(path: Path, *, layers: int = 2, hidden: int = 64) -> Path:
    """A random llama-architecture GGUF (the demo's architecture) with the tiny tokenizer inside."""
    import gguf
    import numpy as np

    tokenizer = build_tiny_tokenizer(path.parent / f"{path.stem}-tokenizer")
    vocab = tokenizer.backend_tokenizer.to_str()
    model = json.loads(vocab)["model"]
    tokens = [token for token, _ in sorted(model["vocab"].items(), key=lambda item: item[1])]
    special = set(tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS))
    heads, kv_heads, feed_forward = 4, 2, 4 * hidden
    kv_width = kv_heads * hidden // heads
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(512)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(feed_forward)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(10000.0)
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types(
        [gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(len(tokens))]
    )
    writer.add_token_merges([" ".join(merge) if isinstance(merge, list) else merge for merge in model["merges"]])
    writer.add_bos_token_id(tokenizer.convert_tokens_to_ids("<|im_start|>"))
    writer.add_eos_token_id(tokenizer.convert_tokens_to_ids("<|im_end|>"))
    writer.add_chat_template(CHATML_TEMPLATE)
    random = np.random.default_rng(0)

    def weights(*shape: int) -> np.ndarray:
        return (random.standard_normal(shape) * 0.2).astype(np.float32)

    writer.add_tensor("token_embd.weight", weights(len(tokens), hidden))
    for index in range(layers):
        block = f"blk.{index}"
        writer.add_tensor(f"{block}.attn_norm.weight", np.ones(hidden, np.float32))
        writer.add_tensor(f"{block}.attn_q.weight", weights(hidden, hidden))
        writer.add_tensor(f"{block}.attn_k.weight", weights(kv_width, hidden))
        writer.add_tensor(f"{block}.attn_v.weight", weights(kv_width, hidden))
        writer.add_tensor(f"{block}.attn_output.weight", weights(hidden, hidden))
        writer.add_tensor(f"{block}.ffn_norm.weight", np.ones(hidden, np.float32))
        writer.add_tensor(f"{block}.ffn_gate.weight", weights(feed_forward, hidden))
        writer.add_tensor(f"{block}.ffn_up.weight", weights(feed_forward, hidden))
        writer.add_tensor(f"{block}.ffn_down.weight", weights(hidden, feed_forward))
    writer.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    writer.add_tensor("output.weight", weights(len(tokens), hidden))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="session")
def tiny_gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_gguf(tmp_path_factory.mktemp("tiny-gguf") / "tiny-llama.gguf")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dir: Path):
    """A TransformersBackend on the tiny model, on CPU (shared: do not release it)."""
    from ocr_pipeline.llm.backends.transformers import TransformersBackend, load_model
    from ocr_pipeline.llm.models import ModelSource
    from ocr_pipeline.llm.placement import LoadOptions

    loaded = load_model(ModelSource("tiny", tiny_model_dir), LoadOptions(device="cpu", dtype="float32"))
    return TransformersBackend(loaded)


@pytest.fixture(scope="session")
def demo_gguf_path() -> Path:
    from ocr_pipeline.errors import ModelError
    from ocr_pipeline.llm.models import demo_gguf_path as find_demo

    try:
        return find_demo()
    except ModelError as error:
        pytest.skip(str(error))


@dataclass
class FakeRepo:
    files: dict[str, bytes]
    gated: bool = False
    claimed_sizes: dict[str, int] = field(default_factory=dict)  # sizes to announce instead of the real ones
    sha: str = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class FakeHub:
    """What the fake Hub serves and what it was asked."""

    endpoint: str
    repos: dict[str, FakeRepo]
    authorizations: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)  # GET of file contents, by path
    drop_after_bytes: int | None = None  # cut the body of every file download after this many bytes


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    """Answers what huggingface_hub asks: model info, then HEAD and GET (with Range) per file."""
    info_path = re.compile(r"^/api/models/([^/]+/[^/]+)(?:/revision/[^/]+)?$")
    file_path = re.compile(r"^/([^/]+/[^/]+)/resolve/[^/]+/(.+)$")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
            """Reply; a HEAD gets the headers alone. `drop_after_bytes` cuts file bodies short."""
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command == "HEAD":
                return
            if hub.drop_after_bytes is not None and status in (200, 206) and len(body) > hub.drop_after_bytes:
                self.wfile.write(body[: hub.drop_after_bytes])
                self.close_connection = True
                return
            self.wfile.write(body)

        def _route(self) -> None:
            hub.authorizations.append(self.headers.get("authorization", ""))
            path = urlsplit(self.path).path
            if match := info_path.match(path):
                repo = hub.repos.get(match.group(1))
                if repo is None:
                    return self._send(404, {"X-Error-Code": "RepoNotFound"})
                siblings = [
                    {"rfilename": name, "size": repo.claimed_sizes.get(name, len(data))}
                    for name, data in repo.files.items()
                ]
                body = json.dumps({"id": match.group(1), "sha": repo.sha, "siblings": siblings}).encode()
                return self._send(200, {"Content-Type": "application/json"}, body)
            match = file_path.match(path)
            repo = hub.repos.get(match.group(1)) if match else None
            if repo is None:
                return self._send(404, {"X-Error-Code": "RepoNotFound"})
            if repo.gated:
                return self._send(403, {"X-Error-Code": "GatedRepo", "X-Error-Message": "gated"})
            data = repo.files.get(match.group(2))
            if data is None:
                return self._send(404, {"X-Error-Code": "EntryNotFound"})
            headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{hashlib.sha1(data).hexdigest()}"'}
            if self.command == "GET":
                hub.downloads.append(match.group(2))
            range_start = re.match(r"bytes=(\d+)-", self.headers.get("range", ""))
            start = int(range_start.group(1)) if range_start else 0
            return self._send(206 if start else 200, headers, data[start:])

        do_GET = do_HEAD = _route

    return Handler


@pytest.fixture
def fake_hub(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """A Hub on 127.0.0.1 serving the tiny model as `tiny/qwen`, a gated `tiny/gated`, and `tiny/huge`
    (announces a petabyte). Lifts HF_HUB_OFFLINE for the test, since the downloads stay local."""
    import huggingface_hub.constants

    files = {path.name: path.read_bytes() for path in tiny_model_dir.iterdir() if path.is_file()}
    repos = {
        "tiny/qwen": FakeRepo(files),
        "tiny/gated": FakeRepo(files, gated=True),
        "tiny/huge": FakeRepo(files, claimed_sizes={"model.safetensors": 10**15}),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    hub = FakeHub(f"http://127.0.0.1:{server.server_port}", repos)
    server.RequestHandlerClass = _handler(hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    yield hub
    server.shutdown()
    server.server_close()


# --- llama.cpp ---------------------------------------------------------------------------------


def needs_llamacpp() -> None:
    """Skip where llama-cpp-python is not installed (the set-up could not build it)."""
    from ocr_pipeline.llm.backends.llamacpp import llamacpp_status

    installed, message = llamacpp_status()
    if not installed:
        pytest.skip(message)


@pytest.fixture(scope="session")
def llama_server(demo_gguf_path: Path):
    """`python -m llama_cpp.server` on 127.0.0.1 serving the demo GGUF as `demo` (shared: do not stop it)."""
    needs_llamacpp()
    import importlib.util

    if importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("sse_starlette") is None:
        pytest.skip("llama-cpp-python's server extra (requirements-llamacpp.txt) is not installed")
    from ocr_pipeline.llm.backends.llamacpp import LlamaServer

    with LlamaServer(demo_gguf_path) as server:
        yield server


# --- a scripted OpenAI-compatible server -------------------------------------------------------

Reply = Callable[[dict], "tuple[int, dict, bytes | None]"]  # request body -> (status, headers, body or None: drop)


def chat_answer(
    text: str,
    *,
    finish: str | None = "stop",
    prompt_tokens: int = 1000,
    completion_tokens: int | None = None,
    logprobs: list[float] | None = None,
) -> Reply:
    """A reply with `text` as the answer, non-streamed or as server-sent events as the request asks."""

    def reply(body: dict) -> tuple[int, dict, bytes]:
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens or len(text.split())}
        choice_logprobs = {"content": [{"token": "x", "logprob": value} for value in logprobs]} if logprobs else None
        if not body.get("stream"):
            answer = {
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": finish,
                        "logprobs": choice_logprobs,
                    }
                ],
                "usage": usage,
            }
            return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()
        events = [
            {"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
            for word in re.findall(r"\S+\s*", text)
        ]
        events.append(
            {
                "choices": [{"index": 0, "delta": {}, "finish_reason": finish, "logprobs": choice_logprobs}],
                "usage": usage,
            }
        )
        stream = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
        return 200, {"Content-Type": "text/event-stream"}, stream.encode()

    return reply


def status_reply(status: int, message: str = "", headers: dict | None = None) -> Reply:
    return lambda body: (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps({"error": {"message": message or f"status {status}"}}).encode(),
    )


def slow(reply: Reply, seconds: float) -> Reply:
    def delayed(body: dict):
        time.sleep(seconds)
        return reply(body)

    return delayed


DROP: Reply = lambda body: (200, {}, None)  # noqa: E731 - close the connection without an answer


@dataclass
class FakeOpenAI:
    """What the scripted server answers and what it was asked. `replies` are used in order, then `default`."""

    url: str
    models: list[dict] = field(default_factory=lambda: [{"id": "tiny", "object": "model", "owned_by": "vllm"}])
    replies: list[Reply] = field(default_factory=list)
    default: Reply = field(default_factory=lambda: chat_answer("Total 100.00"))
    requests: list[dict] = field(default_factory=list)  # chat request bodies, in arrival order
    headers: list[dict] = field(default_factory=list)
    tokenize_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_reply(self) -> Reply:
        with self.lock:
            return self.replies.pop(0) if self.replies else self.default


def _openai_handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, headers: dict, body: bytes | None) -> None:
            if body is None:  # a dropped connection
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if urlsplit(self.path).path == "/v1/models":
                return self._send(
                    200,
                    {"Content-Type": "application/json"},
                    json.dumps({"object": "list", "data": fake.models}).encode(),
                )
            self._send(404, {}, b"{}")

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            path = urlsplit(self.path).path
            if path == "/tokenize":  # vLLM's
                with fake.lock:
                    fake.tokenize_calls += 1
                return self._send(
                    200,
                    {"Content-Type": "application/json"},
                    json.dumps({"count": len(body.get("prompt", "").split())}).encode(),
                )
            if path != "/v1/chat/completions":
                return self._send(404, {}, b"{}")
            with fake.lock:
                fake.requests.append(body)
                fake.headers.append(dict(self.headers))
            self._send(*fake.next_reply()(body))

    return Handler


@pytest.fixture
def fake_openai():
    """A scripted OpenAI-compatible server on 127.0.0.1 serving `tiny` (as vLLM would list it)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    server.handle_error = lambda request, client_address: None  # a dropped connection is the point
    fake = FakeOpenAI(f"http://127.0.0.1:{server.server_port}/v1")
    server.RequestHandlerClass = _openai_handler(fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
