"""Qwen2.5 shapes with random weights: how fast and how big each loader setting is, on a GPU or a CPU.

The performance lab behind the loader's defaults (docs/benchmarks.md): on a GPU, bf16, int8 and
4-bit with every layer there, then bf16 with a share of the layers on the GPU (`gpu_layers`), and
batched generation against one prompt at a time; on a CPU, each dtype and quantization the loader
offers there. The weights are random, in the real configurations, so this measures speed and
memory only, without downloading a model.

    .venv/bin/python benchmarks/qwen_shapes.py gpu [--shape Qwen2.5-0.5B ...] [--json]
    .venv/bin/python benchmarks/qwen_shapes.py cpu [--shape Qwen2.5-0.5B] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from collections.abc import Sequence

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ocr_pipeline.bench.common import MIB, Progress, load_average, machine_info  # noqa: E402
from ocr_pipeline.bench.report import Report  # noqa: E402
from ocr_pipeline.errors import PipelineError  # noqa: E402

# The real configurations of the Qwen2.5 instruct models (config.json on the Hub), written here
# because GPU machines have no internet: random weights in these shapes cost the same time and
# memory as the real ones, though what they generate is noise.
QWEN25_SHAPES: dict[str, dict[str, Any]] = {
    "Qwen2.5-0.5B": dict(
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        vocab_size=151936,
        tie_word_embeddings=True,
    ),
    "Qwen2.5-1.5B": dict(
        hidden_size=1536,
        intermediate_size=8960,
        num_hidden_layers=28,
        num_attention_heads=12,
        num_key_value_heads=2,
        vocab_size=151936,
        tie_word_embeddings=True,
    ),
    "Qwen2.5-3B": dict(
        hidden_size=2048,
        intermediate_size=11008,
        num_hidden_layers=36,
        num_attention_heads=16,
        num_key_value_heads=2,
        vocab_size=151936,
        tie_word_embeddings=True,
    ),
    "Qwen2.5-7B": dict(
        hidden_size=3584,
        intermediate_size=18944,
        num_hidden_layers=28,
        num_attention_heads=28,
        num_key_value_heads=4,
        vocab_size=152064,
        tie_word_embeddings=False,
    ),
}
QWEN25_COMMON = dict(max_position_embeddings=32768, rms_norm_eps=1e-6, rope_theta=1000000.0, hidden_act="silu")
GPU_VARIANTS = {"bf16": {"dtype": "bfloat16"}, "int8": {"quantization": "int8"}, "4bit": {"quantization": "4bit"}}
GPU_LAYER_FRACTIONS = (0.75, 0.5, 0.25)  # of the decoder layers, for the bf16 sweep (besides "all")
# On a CPU: the dtypes and quantizations the loader offers there, to choose its default by.
CPU_VARIANTS = {
    "fp32": {"dtype": "float32"},
    "bf16": {"dtype": "bfloat16"},
    "4bit, bf16 compute": {"dtype": "bfloat16", "quantization": "4bit"},
    "4bit, fp32 compute": {"dtype": "float32", "quantization": "4bit"},
    "int8": {"dtype": "float32", "quantization": "int8"},
}
NO_CUDA = "no CUDA: skipped (torch sees no GPU on this machine)"
_CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_random_model(folder: Path, shape: dict[str, Any], device: str = "cpu") -> Path:
    """A Qwen2 model with random bf16 weights in `shape`, and a stub chat tokenizer, saved in `folder`.

    The benchmarks feed token ids directly, so the tokenizer only has to satisfy the loader.
    """
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, Qwen2Config

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    stub = Tokenizer(
        models.WordLevel({token: index for index, token in enumerate(specials)}, unk_token="<|endoftext|>")
    )
    stub.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(
        tokenizer_object=stub, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=_CHATML
    ).save_pretrained(folder)
    config = Qwen2Config(**QWEN25_COMMON, **shape, eos_token_id=2, pad_token_id=0)
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(folder)
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return folder


def measure_generation(model, batch: int, prompt_tokens: int, new_tokens: int) -> dict:
    """Tokens per second for `batch` random prompts generated one by one, then (batch > 1) in one
    batched call.

    Every prompt yields exactly `new_tokens` (min = max), so both ways do the same work.
    """
    import torch

    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 30000, (batch, prompt_tokens), generator=generator).to(model.device)
    settings = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, pad_token_id=0)
    cuda = torch.cuda.is_available()

    def timed(rows: slice) -> float:
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        model.generate(input_ids=ids[rows], attention_mask=torch.ones_like(ids[rows]), **settings)
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - started

    with torch.inference_mode():
        model.generate(
            input_ids=ids[:1],
            attention_mask=torch.ones_like(ids[:1]),
            **settings | {"max_new_tokens": 2, "min_new_tokens": 2},
        )  # warm-up
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        one_by_one = sum(timed(slice(row, row + 1)) for row in range(batch))
        batched = timed(slice(None)) if batch > 1 else None
    tokens = batch * new_tokens
    return {
        "one_by_one_tokens_per_second": round(tokens / one_by_one, 1),
        "batched_tokens_per_second": round(tokens / batched, 1) if batched else None,
        "batched_speedup": round(one_by_one / batched, 2) if batched else None,
        "peak_cuda_mib": round(torch.cuda.max_memory_allocated() / MIB) if cuda else None,
    }


@dataclass
class ShapeRun:
    shape: str
    variant: str  # a key of GPU_VARIANTS or CPU_VARIANTS
    gpu_layers: int | str  # "-" on the CPU
    load_seconds: float | None = None
    after_load: dict | None = None  # MemorySnapshot fields, bytes
    after_release: dict | None = None
    generation: dict | None = None  # see `measure_generation`
    error: str = ""


@dataclass
class ShapeBenchmark(Report):
    device: str  # cuda | cpu
    skipped: str | None
    settings: dict
    runs: list[ShapeRun]

    @property
    def kind(self) -> str:
        return "gpu" if self.device == "cuda" else "cpu"

    def lines(self) -> list[str]:
        return [self.skipped] if self.skipped else super().lines()

    def title(self) -> str:
        settings = self.settings
        return (
            f"{self.kind.upper()} benchmark ({settings['weights']}); batch {settings['batch']}, "
            f"{settings['prompt_tokens']} prompt tokens, {settings['new_tokens']} new tokens"
        )

    def table(self) -> list[dict]:
        gpu = self.kind == "gpu"
        memory, memory_key = ("CUDA alloc", "cuda_allocated_bytes") if gpu else ("RSS", "rss_bytes")

        def mib(snapshot: dict | None) -> float | None:
            value = (snapshot or {}).get(memory_key)
            return None if value is None else round(value / MIB, 1)

        return [
            {
                "shape": r.shape,
                "variant": r.variant,
                "gpu_layers": str(r.gpu_layers),
                "load s": r.load_seconds,
                f"{memory} after load MiB": mib(r.after_load),
            }
            | ({"tok/s 1-by-1": r.generation["one_by_one_tokens_per_second"]} if r.generation else {})
            | (
                {
                    "tok/s batched": r.generation["batched_tokens_per_second"],
                    "speedup": r.generation["batched_speedup"],
                    "peak CUDA MiB": r.generation["peak_cuda_mib"],
                }
                if r.generation and gpu
                else {}
            )
            | {f"{memory} after release MiB": mib(r.after_release), "error": r.error or None}
            for r in self.runs
        ]


def _gpu_plan(shape: str) -> list[tuple[str, int | str]]:
    """bf16, int8 and 4bit with every layer on the GPU, then bf16 with a share of the layers there."""
    layers = QWEN25_SHAPES[shape]["num_hidden_layers"]
    plan: list[tuple[str, int | str]] = [(variant, "all") for variant in GPU_VARIANTS]
    return plan + [("bf16", max(1, round(layers * fraction))) for fraction in GPU_LAYER_FRACTIONS]


def benchmark_gpu(
    shapes: Sequence[str] = ("Qwen2.5-0.5B", "Qwen2.5-1.5B", "Qwen2.5-3B"),
    batch: int = 8,
    prompt_tokens: int = 256,
    new_tokens: int = 128,
    on_progress: Progress | None = None,
) -> ShapeBenchmark:
    """Load time, memory and tokens per second (one by one and batched) per shape, variant and
    gpu_layers; returns a report with `skipped` set where there is no CUDA."""
    from ocr_pipeline.llm.placement import cuda_available

    plan = [(shape, variant, layers) for shape in _known(shapes) for variant, layers in _gpu_plan(shape)]
    if not cuda_available():
        return ShapeBenchmark(
            "cuda",
            NO_CUDA,
            _settings(shapes, batch, prompt_tokens, new_tokens),
            [],
            machine=machine_info(),
            load_average=[load_average()] * 2,
        )
    return _run_shapes("cuda", plan, batch, prompt_tokens, new_tokens, on_progress)


def benchmark_cpu(
    shapes: Sequence[str] = ("Qwen2.5-0.5B",),
    prompt_tokens: int = 128,
    new_tokens: int = 16,
    on_progress: Progress | None = None,
) -> ShapeBenchmark:
    """Load time, memory and decode speed of each CPU dtype and quantization (CPU_VARIANTS), one
    prompt at a time as the pipeline runs on a CPU: the measurement behind the CPU default dtype."""
    plan = [(shape, variant, "-") for shape in _known(shapes) for variant in CPU_VARIANTS]
    return _run_shapes("cpu", plan, 1, prompt_tokens, new_tokens, on_progress)


def _known(shapes: Sequence[str]) -> Sequence[str]:
    unknown = [shape for shape in shapes if shape not in QWEN25_SHAPES]
    if unknown:
        raise PipelineError(f"Unknown shape {', '.join(unknown)}; choose from {', '.join(QWEN25_SHAPES)}.")
    return shapes


def _settings(shapes: Sequence[str], batch: int, prompt_tokens: int, new_tokens: int) -> dict:
    return {
        "shapes": list(shapes),
        "batch": batch,
        "prompt_tokens": prompt_tokens,
        "new_tokens": new_tokens,
        "weights": "random, in the real Qwen2.5 configurations (speed and memory only)",
    }


def _run_shapes(
    device: str,
    plan: list[tuple[str, str, int | str]],
    batch: int,
    prompt_tokens: int,
    new_tokens: int,
    on_progress: Progress | None,
) -> ShapeBenchmark:
    from ocr_pipeline.llm.backends.transformers import load_model, release_model
    from ocr_pipeline.llm.models import ModelSource
    from ocr_pipeline.llm.placement import LoadOptions

    variants = GPU_VARIANTS if device == "cuda" else CPU_VARIANTS
    shapes = list(dict.fromkeys(shape for shape, _, _ in plan))
    load_start = load_average()
    runs = []
    with tempfile.TemporaryDirectory(prefix=f"bench-{device}-") as scratch:
        folders: dict[str, Path] = {}
        for position, (shape, variant, layers) in enumerate(plan):
            if on_progress:
                on_progress(position, len(plan), f"{shape} {variant} gpu_layers={layers}")
            if shape not in folders:
                folders[shape] = build_random_model(Path(scratch) / shape, QWEN25_SHAPES[shape], device=device)
            run = ShapeRun(shape, variant, layers)
            options = LoadOptions(
                device=device, **variants[variant], **({"gpu_layers": layers} if device == "cuda" else {})
            )
            try:
                loaded = load_model(ModelSource(shape, folders[shape]), options)
                run.load_seconds, run.after_load = round(loaded.load_seconds, 2), asdict(loaded.memory_after)
                try:
                    run.generation = measure_generation(loaded.model, batch, prompt_tokens, new_tokens)
                finally:
                    run.after_release = asdict(release_model(loaded).after)
            except Exception as error:  # noqa: BLE001 - one variant that fails (out of memory) is a row
                run.error = f"{type(error).__name__}: {error}"
            runs.append(run)
    if on_progress:
        on_progress(len(plan), len(plan), "done")
    return ShapeBenchmark(
        device,
        None,
        _settings(shapes, batch, prompt_tokens, new_tokens),
        runs,
        machine=machine_info(),
        load_average=[load_start, load_average()],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="device", required=True)
    gpu = commands.add_parser("gpu", help="bf16/int8/4bit on the GPU, a gpu_layers sweep, batching")
    gpu.add_argument(
        "--shape", nargs="+", choices=tuple(QWEN25_SHAPES), default=["Qwen2.5-0.5B", "Qwen2.5-1.5B", "Qwen2.5-3B"]
    )
    gpu.add_argument("--batch", type=int, default=8)
    gpu.add_argument("--prompt-tokens", type=int, default=256)
    gpu.add_argument("--new-tokens", type=int, default=128)
    cpu = commands.add_parser("cpu", help="each CPU dtype and quantization the loader offers")
    cpu.add_argument("--shape", nargs="+", choices=tuple(QWEN25_SHAPES), default=["Qwen2.5-0.5B"])
    cpu.add_argument("--prompt-tokens", type=int, default=128)
    cpu.add_argument("--new-tokens", type=int, default=16)
    for command in (gpu, cpu):
        command.add_argument("--json", action="store_true", help="one JSON object with every figure")
    args = parser.parse_args()
    with tqdm(unit="run", file=sys.stderr) as progress:

        def on_progress(done: int, total: int, what: str) -> None:
            progress.total, progress.n = total, done
            progress.set_description(what[:50])

        if args.device == "gpu":
            report = benchmark_gpu(args.shape, args.batch, args.prompt_tokens, args.new_tokens, on_progress)
        else:
            report = benchmark_cpu(args.shape, args.prompt_tokens, args.new_tokens, on_progress)
    print(json.dumps(report.to_json()) if args.json else report.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
