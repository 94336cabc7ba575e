"""Language models: names and files, placement, memory, and the backends that generate.

| module | what |
|---|---|
| `models` | model names, presets, files on disk, Hub downloads |
| `placement` | load options, GPU-layer device maps, CPU threads |
| `memory` | memory snapshots and what a release does |
| `base` | the interfaces: `GenerationBackend` (for correction), `ModelBackend` (for the app) |
| `backends/transformers` | in-process transformers (+ bitsandbytes, device maps) |
"""

import os

# Read once, when torch or llama.cpp start their OpenMP threads: waiting threads sleep instead of
# spinning. On a 2-core machine shared with OCR or other processes, spinning threads made CPU
# generation 10-60x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
