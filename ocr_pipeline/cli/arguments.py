"""Arguments several commands share; a value that is wrong is bad usage (argparse: exit 2)."""

from __future__ import annotations

import argparse


def prompt_name(value: str) -> str:
    """A prompt that exists (a preset or a team prompt): an unknown one is bad usage, exit 2."""
    from ..prompts import PromptError, get_prompt

    try:
        get_prompt(value)
    except PromptError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def prompt_name_or_auto(value: str) -> str:
    """`auto` (the preset that suits each document), or a prompt that exists."""
    from ..prompts import AUTO_PROMPT

    return value if value == AUTO_PROMPT else prompt_name(value)


def gpu_layers_type(value: str) -> int | str:
    """A number of layers (0 or more), 'all' or 'auto'; anything else is bad usage (exit 2)."""
    if value in ("all", "auto"):
        return value
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number of layers (0 or more), 'all' or 'auto', not {value!r}")
    return int(value)


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {value!r}")
    return int(value)


def add_model_arguments(parser: argparse.ArgumentParser, auto_prompt: bool = False) -> None:
    """The model, backend, prompt and guard options; `auto_prompt`: the prompt defaults to the preset that
    suits each document (the benchmarks keep one prompt for every document, named)."""
    from ..guard import POLICIES
    from ..llm.factory import BACKEND_CHOICES
    from ..llm.placement import QUANTIZATIONS

    parser.add_argument(
        "--model",
        default=None,
        help="preset, Hub repo id, local folder or .gguf file (default: OCR_MODEL, else the best "
        "preset on disk, else demo); with a server, the "
        "model it serves (default: OCR_LLM_MODEL, else its only model)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default=None,
        help="where the model runs (default: OCR_BACKEND, else auto: a server when a URL is given, "
        "llama.cpp for a GGUF on a CPU where installed, else transformers)",
    )
    parser.add_argument(
        "--server-url",
        metavar="URL",
        help="OpenAI-compatible server, e.g. http://host:8000/v1 "
        "(default: OCR_LLM_URL); the API key comes from OCR_LLM_API_KEY",
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=None,
        help="requests in flight to a server at once (default: OCR_LLM_CONCURRENCY, else 4)",
    )
    parser.add_argument(
        "--prompt",
        type=prompt_name_or_auto if auto_prompt else prompt_name,
        default="auto" if auto_prompt else "general",
        help="prompt name: a preset or a team prompt"
        + (
            ", or auto: the preset that suits each document (amounts: financial, doses: medical, columns: "
            "table, handwriting: handwritten, else general; named on stderr) (default: auto)"
            if auto_prompt
            else " (default: general)"
        ),
    )
    parser.add_argument(
        "--max-chars",
        type=positive_int,
        default=None,
        metavar="N",
        help="refuse a text longer than N characters (default: OCR_MAX_CORRECTION_CHARS, else 20000)",
    )
    parser.add_argument("--quantization", choices=QUANTIZATIONS, default="none", help="bitsandbytes, transformers only")
    parser.add_argument(
        "--gpu-layers",
        type=gpu_layers_type,
        default=None,
        help="decoder layers on the GPU: N, all or auto (default: all; needs CUDA)",
    )
    parser.add_argument("--guard", choices=tuple(POLICIES), default="strict")
    parser.add_argument("--allow-download", action="store_true", help="fetch a missing model from the Hugging Face Hub")
    parser.add_argument("--json", action="store_true", help="one JSON object per result")


def add_ocr_arguments(parser: argparse.ArgumentParser) -> None:
    from ..ocr import ENGINE_NAMES
    from ..ocr.base import MODES

    parser.add_argument("--engine", choices=ENGINE_NAMES, default="auto")
    parser.add_argument("--mode", choices=MODES, default="printed")
    parser.add_argument("--lang", default="en", help="language code, e.g. en, de, fr (default: en)")
    parser.add_argument("--dpi", type=int, default=None, help="PDF render resolution (default: 300)")
