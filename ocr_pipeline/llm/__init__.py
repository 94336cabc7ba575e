"""Language models: names and files, placement, memory, and the backends that generate.

| module | what |
|---|---|
| `models` | model names, presets, files on disk, Hub downloads |
| `placement` | load options, GPU-layer device maps, CPU threads |
| `memory` | memory snapshots and what a release does |
| `base` | the interfaces: `GenerationBackend` (for correction), `ModelBackend` (for the app) |
| `backends/` | one module per backend: transformers, llama.cpp, an OpenAI-compatible server |
| `factory` | `create_backend` and what "auto" picks |

The entry points are importable from here: `create_backend`, `choose_backend`, `server_health`,
`Health`, `llamacpp_status`. They are looked up on first use, so importing this package stays
cheap (no HTTP client, no llama.cpp library, no torch).
"""

import importlib
import os

# Read once, when torch or llama.cpp start their OpenMP threads: waiting threads sleep instead of
# spinning. On a 2-core machine shared with OCR or other processes, spinning threads made CPU
# generation 10-60x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_ENTRY_POINTS = {
    "create_backend": "factory",
    "choose_backend": "factory",
    "server_health": "backends.openai",
    "Health": "backends.openai",
    "llamacpp_status": "backends.llamacpp",
}
__all__ = list(_ENTRY_POINTS)


def __getattr__(name: str):
    if name not in _ENTRY_POINTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_ENTRY_POINTS[name]}"), name)
