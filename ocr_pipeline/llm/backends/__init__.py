"""One module per generation backend; each defines a `create(...)` that the factory calls.

| module | where the model runs |
|---|---|
| `transformers` | in this process, transformers (+ bitsandbytes int8/4-bit, GPU-layer device maps) |
| `llamacpp` | in this process, llama.cpp on a GGUF file (fast on a CPU) |
| `openai` | in a server speaking the OpenAI API (vLLM, llama.cpp server, Ollama) |

Adding a backend is adding a module here and its name to `BACKENDS`.
"""

BACKENDS = ("transformers", "llamacpp", "openai")
