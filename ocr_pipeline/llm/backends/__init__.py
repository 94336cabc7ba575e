"""One module per generation backend; each defines a `create(...)` that the factory calls.

Adding a backend is adding a module here and its name to `BACKENDS`.
"""

BACKENDS = ("transformers",)
