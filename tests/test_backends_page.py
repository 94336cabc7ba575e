"""The Models page: choosing where the model runs, the llama.cpp build state, a server's health."""

from __future__ import annotations

import pytest

from ocr_pipeline.llm import llamacpp_status
from ocr_pipeline.llm.placement import cuda_available
from tests.test_app_correct import assert_no_exception, messages, start


@pytest.fixture(autouse=True)
def app_home(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.setenv("OCR_PIPELINE_HOME", str(tmp_path))
    monkeypatch.setenv("OCR_MODEL", str(tiny_model_dir))
    for name in ("OCR_LLM_URL", "OCR_LLM_MODEL", "OCR_LLM_API_KEY", "OCR_BACKEND"):
        monkeypatch.delenv(name, raising=False)


def captions(app) -> list[str]:
    return [caption.value for caption in app.caption]


def test_quantization_advice_says_what_is_true_on_this_machine():
    app = start("pages/models.py")
    assert_no_exception(app)
    advice = [text for text in captions(app) if "bitsandbytes" in text]
    if cuda_available():
        assert advice and "about a quarter of the GPU memory" in advice[0]
    else:
        assert advice and "On a CPU, bitsandbytes saves no memory" in advice[0] and "llama.cpp" in advice[0]
    assert "Auto runs" in " ".join(captions(app))  # what auto picks for the tiny folder model: transformers
    assert "with **transformers** here" in " ".join(captions(app))


def test_the_llama_cpp_build_state_is_shown():
    app = start("pages/models.py")
    installed, message = llamacpp_status()
    assert any(f"llama.cpp: {message}" in text for text in captions(app))
    assert any("The app works without it" in text for text in captions(app)) == (not installed)


def test_a_server_shows_its_health_and_connects(fake_openai):
    app = start("pages/models.py")
    app.radio(key="settings.backend").set_value("openai").run()
    app.text_input(key="settings.server_url").set_value(fake_openai.url).run()
    assert_no_exception(app)
    assert app.selectbox(key="models.server_model").value == "tiny"
    up = messages(app, "success")
    assert up and "Server up: tiny (vLLM)" in up[0] and " ms" in up[0]
    assert not [button for button in app.button if button.key == "models:download"]
    app.button(key="models:load").click().run()
    assert_no_exception(app)
    assert any("connected: server tiny (vLLM)" in block.value for block in app.markdown)
    app.button(key="models:release").click().run()
    assert_no_exception(app)


def test_a_server_that_is_down_is_said_to_be_down():
    app = start("pages/models.py")
    app.radio(key="settings.backend").set_value("openai").run()
    app.text_input(key="settings.server_url").set_value("http://127.0.0.1:9/v1").run()
    assert_no_exception(app)
    assert any("down or unreachable" in message for message in messages(app)), messages(app)
