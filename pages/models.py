"""Models & resources: choose the model and where it runs (transformers, llama.cpp, a server), download,
load and release it; see where it sits, the server's health and what memory it uses."""

import os

import pandas as pd
import streamlit as st

from dashboard import keys, model_state, widgets
from dashboard.boundary import explain
from ocr_pipeline.config import model_dir
from ocr_pipeline.errors import ModelError
from ocr_pipeline.llm import choose_backend, llamacpp_status, server_health
from ocr_pipeline.llm.backends.openai import ENV_URL
from ocr_pipeline.llm.backends.transformers import quantization_advice
from ocr_pipeline.llm.factory import BACKEND_CHOICES, default_backend, gpu_layers_apply
from ocr_pipeline.llm.models import list_models
from ocr_pipeline.llm.placement import QUANTIZATIONS, LoadOptions, cuda_available

CUSTOM = "Custom: repo id, folder or .gguf…"
BACKEND_LABELS = {
    "auto": "Auto (the fastest installed)",
    "transformers": "transformers",
    "llamacpp": "llama.cpp",
    "openai": "Server (OpenAI API)",
}


@st.cache_data(ttl=15, show_spinner=False)
def health(url: str, model: str | None):
    """The server's health, asked at most every 15 s per URL and model (every rerun would wait on it)."""
    return server_health(url or None, model)


st.title("Models & resources")
st.caption(
    "The model corrects the OCR text. It is loaded once and shared by everyone using this app; a server "
    "(vLLM, llama.cpp, Ollama) can hold it instead, for a whole team."
)

with st.spinner("Looking for a CUDA GPU…"):
    has_cuda = cuda_available()
llama_installed, llama_message = llamacpp_status()

backend = st.radio(
    "Where the model runs",
    BACKEND_CHOICES,
    format_func=BACKEND_LABELS.get,
    horizontal=True,
    key=keys.BACKEND,
    persist_state="session",
    index=BACKEND_CHOICES.index(default_backend()),
    help="transformers: in this app, with bitsandbytes quantization and GPU-layer offload (the default "
    "on CUDA). llama.cpp: in this app, GGUF files only, several times faster on a CPU. Server: a "
    "shared engine speaking the OpenAI API; this app sends it several chunks at once.",
)
if llama_installed:
    st.caption(f":material/check_circle: llama.cpp: {llama_message}.")
else:
    st.caption(f":material/info: llama.cpp: {llama_message} The app works without it.")

server_url = ""
if backend == "openai":
    server_url = st.text_input(
        "Server URL",
        key=keys.SERVER_URL,
        persist_state="session",
        placeholder=os.environ.get(ENV_URL) or "http://localhost:8000/v1",
        help=f"The OpenAI-compatible API base (default: {ENV_URL}). The API key comes from "
        "OCR_LLM_API_KEY and is never shown.",
    )
    served = health(server_url, None)
    if served.models:
        picked = st.selectbox("Model on the server", served.models, key="models.server_model", persist_state="session")
    else:
        picked = None
    checked = health(server_url, picked) if picked else served
    if checked.ok:
        st.success(f"Server up: {checked.message}.", icon=":material/dns:")
    else:
        st.error(checked.message, icon=":material/cloud_off:")
    st.session_state[keys.MODEL] = picked or model_state.default_name()
else:
    folder = st.text_input(
        "Model folder",
        key=keys.MODEL_FOLDER,
        persist_state="session",
        placeholder=str(model_dir()),
        help="Where models are downloaded and looked for (OCR_MODEL_DIR).",
    )
    try:
        entries = list_models(model_state.folder_path(model_state.current_choice().folder))
    except ModelError as error:
        st.error(str(error), icon=":material/folder_off:")
        entries = []
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "model": e.name,
                    "on disk": "yes" if e.available else "no",
                    "size (MiB)": round(e.size_bytes / 2**20),
                    "about": e.description,
                }
                for e in entries
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    names = list(dict.fromkeys([model_state.default_name(), *(entry.name for entry in entries)]))
    left, right = st.columns(2, gap="large")
    with left:
        picked = st.selectbox("Model", [*names, CUSTOM], key="models.pick", persist_state="session")
        if picked == CUSTOM:
            picked = st.text_input(
                "Custom model",
                key="models.custom",
                persist_state="session",
                placeholder="Qwen/Qwen2.5-0.5B-Instruct, ~/models/my-model, or owner/repo:file.gguf",
            )
        st.session_state[keys.MODEL] = picked or model_state.default_name()
        choice = model_state.current_choice()
        runs_on = choose_backend(backend, choice.name, options=LoadOptions(quantization=choice.quantization))
        if backend == "auto":
            st.caption(f"Auto runs **{choice.label}** with **{BACKEND_LABELS[runs_on]}** here.")
        st.selectbox(
            "Quantization",
            QUANTIZATIONS,
            key=keys.QUANTIZATION,
            persist_state="session",
            disabled=runs_on != "transformers",
            help=quantization_advice(has_cuda),
        )
        st.caption(
            quantization_advice(has_cuda)
            if runs_on == "transformers"
            else "llama.cpp runs the GGUF file's own quantization (Q4_1 for the demo)."
        )
        st.toggle("Allow download from the Hugging Face Hub", key=keys.ALLOW_DOWNLOAD, persist_state="session")
    with right:
        if gpu_layers_apply(runs_on):
            try:
                layers = model_state.layer_count(choice)
                gpu_layers = st.slider(
                    "GPU layers",
                    0,
                    layers,
                    layers,
                    key="models.gpu_layers",
                    persist_state="session",
                    help="Layers kept on the GPU (llama.cpp: n_gpu_layers); the rest stay in RAM "
                    "(transformers streams them in; llama.cpp computes them on the CPU).",
                )
                st.session_state[keys.GPU_LAYERS] = "all" if gpu_layers == layers else gpu_layers
            except Exception as error:
                st.caption(f"GPU layers: set when the model's files are on disk ({explain(error)})")
        else:
            reason = (
                "Needs a CUDA GPU, and torch sees none here"
                if runs_on == "transformers"
                else "This llama.cpp build has no GPU offload"
            )
            st.slider(
                "GPU layers",
                0,
                1,
                0,
                disabled=True,
                key="models.gpu_layers_off",
                help=f"{reason}: the whole model runs on the CPU.",
            )
            st.caption(
                f"{reason}: the model runs on the CPU. Prefer small models (demo, Qwen2.5-0.5B) and "
                "GGUF files with llama.cpp."
            )

choice = model_state.current_choice()
state_line = st.empty()  # drawn once the buttons below have done their work, so it shows the outcome
actions = st.container(horizontal=True)
with actions:
    download_pressed = not choice.on_server and st.button("Download", key="models:download", icon=":material/download:")
    load_pressed = st.button(
        "Connect" if choice.on_server else "Load", key="models:load", type="primary", icon=":material/memory:"
    )

if download_pressed or load_pressed:
    bar = st.progress(0.0, text="Checking the model's files…")
    try:
        if not choice.on_server:
            source = model_state.download(
                choice,
                lambda done, total: bar.progress(
                    min(done / max(total, 1), 1.0), text=f"{done / 2**20:,.0f} of {total / 2**20:,.0f} MiB"
                ),
            )
            bar.progress(1.0, text=f"Files ready in {source.path}")
        if load_pressed:
            with st.spinner(f"Loading {choice.label}…"):
                st.session_state[keys.LOADED_MESSAGE] = model_state.loaded_model(choice).describe()
            st.session_state.pop(keys.RELEASE_REPORT, None)
        bar.empty()
    except Exception as error:
        bar.empty()
        st.error(explain(error), icon=":material/error:")
state_line.markdown(f"**{choice.name}** — {model_state.state_text(choice)}")
with actions:
    model_state.release_button("models:release")
if st.session_state.get(keys.LOADED_MESSAGE) and choice in model_state.ledger().loaded:
    st.success(f"Loaded {st.session_state[keys.LOADED_MESSAGE]}", icon=":material/check_circle:")

loaded = model_state.ledger().loaded.get(choice)
if loaded is not None and loaded.placement is not None:
    st.subheader("Where the model sits")
    st.caption(loaded.placement.describe())
    st.dataframe(
        pd.DataFrame(sorted(loaded.placement.device_map.items()), columns=["module", "device"]),
        hide_index=True,
        height=min(38 + 35 * len(loaded.placement.device_map), 300),
        width="stretch",
    )

st.subheader("Memory")
widgets.memory_gauges()

with st.expander("When something goes wrong", icon=":material/help:"):
    st.markdown(f"""
**Out of memory** — release the model, then load it with fewer **GPU layers** (the rest stay in RAM),
with **4bit** quantization on a GPU, or as a GGUF file with llama.cpp on a CPU, or pick a smaller model
(Qwen2.5-0.5B, demo).

**Download blocked** (no internet, a proxy, `HF_HUB_OFFLINE=1`) — place the files by hand: for a repo
`owner/name`, copy `config.json`, `generation_config.json`, the tokenizer files and the `*.safetensors`
weights into `{model_dir()}/owner/name`; for a `.gguf`, give its path as a custom model.

**Gated model** (Llama, Gemma…) — accept its licence on huggingface.co while logged in, create a read
token, and start the app with `HF_TOKEN=<token>`.

**Server down, slow or serving another model** — the message above says which. Start the server (see
`docs/deploy.md`), check the URL (it ends in `/v1`), pick one of the models it serves, set
`OCR_LLM_API_KEY` if it wants a key; a slow server may need `OCR_LLM_TIMEOUT` raised or
`OCR_LLM_CONCURRENCY` lowered. A chunk the server cannot answer keeps its OCR text, with the reason.
""")
