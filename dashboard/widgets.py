"""Small widgets several pages draw: memory figures and gauges."""

from __future__ import annotations

import streamlit as st

MIB = 2**20


def memory_caption() -> None:
    """One line for the sidebar: process memory now (and CUDA where this process uses it)."""
    from ocr_pipeline.llm.memory import memory_snapshot

    st.caption(f"Memory: {memory_snapshot().describe()}")


def memory_gauges() -> None:
    """Process RSS against the machine's RAM, and the GPU's used/total memory when there is CUDA."""
    import psutil

    from ocr_pipeline.llm.memory import imported_torch, memory_snapshot

    snapshot = memory_snapshot()
    ram = psutil.virtual_memory()
    columns = st.columns(2)
    with columns[0]:
        st.metric("Process memory (RSS)", f"{snapshot.rss_bytes / MIB:,.0f} MiB")
        st.progress(
            min(snapshot.rss_bytes / ram.total, 1.0),
            text=f"of {ram.total / 2**30:.1f} GiB RAM ({ram.available / 2**30:.1f} GiB available)",
        )
    with columns[1]:
        torch = imported_torch()
        if torch is not None and torch.cuda.is_available():
            free, total = torch.cuda.mem_get_info()
            st.metric("GPU memory used", f"{(total - free) / MIB:,.0f} MiB")
            st.progress((total - free) / total, text=f"of {total / 2**30:.1f} GiB on {torch.cuda.get_device_name(0)}")
        else:
            st.metric("GPU memory", "no CUDA")
            st.caption("torch sees no CUDA GPU here (or has not been loaded yet): models run on the CPU.")
