"""Models & resources: choose, download, load and release models; see where they sit and what memory they use."""

import pandas as pd
import streamlit as st

from dashboard import model_state, widgets
from dashboard.boundary import explain
from dashboard.model_state import DOWNLOAD_KEY, FOLDER_KEY, GPU_LAYERS_KEY, MODEL_KEY, QUANTIZATION_KEY
from ocr_pipeline.config import model_dir
from ocr_pipeline.llm.models import list_models
from ocr_pipeline.llm.placement import QUANTIZATIONS, cuda_available

CUSTOM = "Custom: repo id, folder or .gguf…"

st.title("Models & resources")
st.caption("The model corrects the OCR text. It is loaded once and shared by everyone using this app.")

folder = st.text_input("Model folder", key=FOLDER_KEY, persist_state="session", placeholder=str(model_dir()),
                       help="Where models are downloaded and looked for (OCR_MODEL_DIR).")
entries = list_models(model_state.folder_path(model_state.current_choice()))
st.dataframe(pd.DataFrame([{"model": e.name, "on disk": "yes" if e.available else "no",
                            "size (MiB)": round(e.size_bytes / 2**20), "about": e.description} for e in entries]),
             hide_index=True, width="stretch")

names = list(dict.fromkeys([model_state.default_model(), *(entry.name for entry in entries)]))
left, right = st.columns(2, gap="large")
with left:
    picked = st.selectbox("Model", [*names, CUSTOM], key="models.pick", persist_state="session")
    if picked == CUSTOM:
        picked = st.text_input("Custom model", key="models.custom", persist_state="session",
                               placeholder="Qwen/Qwen2.5-0.5B-Instruct, ~/models/my-model, or owner/repo:file.gguf")
    st.session_state[MODEL_KEY] = picked or model_state.default_model()
    st.selectbox("Quantization", QUANTIZATIONS, key=QUANTIZATION_KEY, persist_state="session",
                 help="4bit (NF4) needs about a quarter of the memory of none; int8 about half. Needs bitsandbytes.")
    st.toggle("Allow download from the Hugging Face Hub", key=DOWNLOAD_KEY, persist_state="session")
with right:
    with st.spinner("Looking for a CUDA GPU…"):
        has_cuda = cuda_available()
    choice = model_state.current_choice()
    if has_cuda:
        try:
            layers = model_state.layer_count(choice)
            gpu_layers = st.slider("GPU layers", 0, layers, layers, key="models.gpu_layers", persist_state="session",
                                   help="Layers kept on the GPU; the rest wait in RAM and stream in (slower, less GPU memory).")
            st.session_state[GPU_LAYERS_KEY] = "all" if gpu_layers == layers else gpu_layers
        except Exception as error:
            st.caption(f"GPU layers: set when the model's files are on disk ({explain(error)})")
    else:
        st.slider("GPU layers", 0, 1, 0, disabled=True, key="models.gpu_layers_off",
                  help="Needs a CUDA GPU, and torch sees none here: the whole model runs on the CPU.")
        st.caption("No CUDA GPU: the model runs on the CPU. Prefer small models (demo, Qwen2.5-0.5B) or 4bit.")

choice = model_state.current_choice()
st.markdown(f"**{choice.name}** — {model_state.state_text(choice)}")
with st.container(horizontal=True):
    download_pressed = st.button("Download", key="models:download", icon=":material/download:")
    load_pressed = st.button("Load", key="models:load", type="primary", icon=":material/memory:")
    model_state.release_button("models:release")

if download_pressed or load_pressed:
    bar = st.progress(0.0, text="Checking the model's files…")
    try:
        source = model_state.download(choice, lambda done, total: bar.progress(
            min(done / max(total, 1), 1.0), text=f"{done / 2**20:,.0f} of {total / 2**20:,.0f} MiB"))
        bar.progress(1.0, text=f"Files ready in {source.path}")
        if load_pressed:
            with st.spinner(f"Loading {choice.label}…"):
                st.session_state["models.loaded_message"] = model_state.loaded_model(choice).describe()
            st.session_state.pop("model.release_report", None)
            st.rerun()  # the sidebar and the buttons above must show the model as loaded
    except Exception as error:
        bar.empty()
        st.error(explain(error), icon=":material/error:")
if st.session_state.get("models.loaded_message") and choice in model_state.hub().loaded:
    st.success(f"Loaded {st.session_state['models.loaded_message']}", icon=":material/check_circle:")

loaded = model_state.hub().loaded.get(choice)
if loaded is not None:
    st.subheader("Where the model sits")
    st.caption(loaded.placement.describe())
    st.dataframe(pd.DataFrame(sorted(loaded.placement.device_map.items()), columns=["module", "device"]),
                 hide_index=True, height=min(38 + 35 * len(loaded.placement.device_map), 300), width="stretch")

st.subheader("Memory")
widgets.memory_gauges()

with st.expander("When something goes wrong", icon=":material/help:"):
    st.markdown(f"""
**Out of memory** — release the model, then load it with fewer **GPU layers** (the rest stay in RAM) or
with **4bit** quantization, or pick a smaller model (Qwen2.5-0.5B, demo).

**Download blocked** (no internet, a proxy, `HF_HUB_OFFLINE=1`) — place the files by hand: for a repo
`owner/name`, copy `config.json`, `generation_config.json`, the tokenizer files and the `*.safetensors`
weights into `{model_dir()}/owner/name`; for a `.gguf`, give its path as a custom model.

**Gated model** (Llama, Gemma…) — accept its licence on huggingface.co while logged in, create a read
token, and start the app with `HF_TOKEN=<token>`.
""")
