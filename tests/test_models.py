"""Model names, local lookup, listing, and downloads against a fake Hub on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from tests.fixtures_models import FakeRepo
from ocr_pipeline.errors import ModelError
from ocr_pipeline.llm.models import (
    DEMO,
    PRESETS,
    ModelSource,
    default_model,
    download_model,
    list_models,
    missing_files,
    parse_model_name,
    resolve_model,
)

QWEN_SMALL = "Qwen/Qwen2.5-0.5B-Instruct"


def place(model_dir: Path, folder: Path) -> Path:
    shutil.copytree(model_dir, folder)
    return folder


def incomplete_files(folder: Path) -> list[Path]:
    return list(folder.rglob("*.incomplete"))


# --- names -------------------------------------------------------------------------------------


def test_demo_is_the_packaged_gguf(demo_gguf_path):
    source = parse_model_name(DEMO)
    assert source.path == demo_gguf_path
    assert source.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert source.repo_id is None
    assert missing_files(source) is None


def test_repo_id_lives_under_the_model_folder(tmp_path):
    source = parse_model_name(QWEN_SMALL, tmp_path)
    assert source == ModelSource(QWEN_SMALL, tmp_path / "Qwen" / "Qwen2.5-0.5B-Instruct", repo_id=QWEN_SMALL)


def test_repo_gguf_syntax(tmp_path):
    source = parse_model_name("owner/repo:model.Q4_K_M.gguf", tmp_path)
    assert source.repo_id == "owner/repo"
    assert source.path == tmp_path / "owner" / "repo" / "model.Q4_K_M.gguf"


def test_local_folder_and_gguf_paths(tmp_path, tiny_model_dir):
    assert parse_model_name(str(tiny_model_dir)) == ModelSource(str(tiny_model_dir), tiny_model_dir)
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")
    assert parse_model_name(str(gguf)).gguf_file == "x.gguf"


def test_names_relative_to_the_model_folder(tmp_path, tiny_model_dir):
    place(tiny_model_dir, tmp_path / "my-model")
    assert parse_model_name("my-model", tmp_path).folder == tmp_path / "my-model"


@pytest.mark.parametrize(
    "name, message",
    [
        ("no-such-thing", "is not a model"),
        ("./missing-folder", "no such file or folder"),
        ("owner/repo:weights.bin", "must be a .gguf"),
        ("x" * 300, "is not a model"),  # longer than a file name may be: no file, not a crash
        ("/tmp/" + "x" * 300 + ".gguf", "no such file or folder"),
        ("nul\x00name", "is not a model"),
    ],
)
def test_bad_names(tmp_path, name, message):
    with pytest.raises(ModelError, match=message):
        parse_model_name(name, tmp_path)


def test_a_file_that_is_not_gguf_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ModelError, match="not a .gguf model"):
        parse_model_name(str(tmp_path / "notes.txt"))


# --- files on disk -----------------------------------------------------------------------------


def test_folder_without_weights(tmp_path, tiny_model_dir):
    folder = place(tiny_model_dir, tmp_path / "m")
    (folder / "model.safetensors").unlink()
    assert "has no weights" in missing_files(ModelSource("m", folder))
    with pytest.raises(ModelError, match="has no weights"):
        resolve_model(str(folder))


def test_sharded_folder_missing_a_shard(tmp_path, tiny_model_dir):
    folder = place(tiny_model_dir, tmp_path / "m")
    (folder / "model.safetensors").rename(folder / "model-00001-of-00002.safetensors")
    shards = {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": shards}))
    assert "model-00002-of-00002.safetensors" in missing_files(ModelSource("m", folder))


def test_gguf_without_header(tmp_path):
    (tmp_path / "broken.gguf").write_bytes(b"not a gguf file")
    assert "GGUF header" in missing_files(ModelSource("b", tmp_path, gguf_file="broken.gguf"))


def test_offline_and_absent_says_where_it_looked_and_how_to_place_files(tmp_path):
    with pytest.raises(ModelError) as error:
        resolve_model(QWEN_SMALL, model_folder=tmp_path)
    message = str(error.value)
    expected_folder = tmp_path / "Qwen" / "Qwen2.5-0.5B-Instruct"
    assert str(expected_folder) in message
    assert "downloading is off" in message
    assert "*.safetensors" in message and "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct" in message


def test_offline_finds_a_model_placed_by_hand(tmp_path, tiny_model_dir):
    folder = place(tiny_model_dir, tmp_path / "Qwen" / "Qwen2.5-0.5B-Instruct")
    assert resolve_model(QWEN_SMALL, model_folder=tmp_path).folder == folder


def test_hub_offline_mode_refuses_the_download_clearly(tmp_path):
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE") as error:
        resolve_model(QWEN_SMALL, model_folder=tmp_path, allow_download=True)
    assert str(tmp_path / "Qwen" / "Qwen2.5-0.5B-Instruct") in str(error.value)


# --- listing and defaults ----------------------------------------------------------------------


def test_list_models_shows_presets_and_downloads(tmp_path, tiny_model_dir, demo_gguf_path):
    place(tiny_model_dir, tmp_path / "Qwen" / "Qwen2.5-0.5B-Instruct")
    place(tiny_model_dir, tmp_path / "someone" / "other-model")
    (tmp_path / "someone" / "half-done").mkdir()  # no config.json: not a model
    gguf = tmp_path / "someone" / "ggufs" / "small.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + bytes(16))  # version 3, no tensor, no key
    entries = {entry.name: entry for entry in list_models(tmp_path)}
    assert [name for name in entries][: len(PRESETS)] == [preset.name for preset in PRESETS]
    assert entries[QWEN_SMALL].available and entries[QWEN_SMALL].size_bytes > 0
    assert not entries["Qwen/Qwen2.5-3B-Instruct"].available
    assert entries[DEMO].path == demo_gguf_path
    assert entries["someone/other-model"].preset is False
    assert entries["someone/ggufs:small.gguf"].path == gguf
    assert "someone/half-done" not in entries
    assert parse_model_name("someone/ggufs:small.gguf", tmp_path).path == gguf


def test_default_model(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.delenv("OCR_MODEL", raising=False)
    assert default_model(tmp_path, cuda=True) == DEMO, "nothing is downloaded to honour a default"
    place(tiny_model_dir, tmp_path / "Qwen" / "Qwen2.5-1.5B-Instruct")
    assert default_model(tmp_path, cuda=False) == "Qwen/Qwen2.5-1.5B-Instruct"
    place(tiny_model_dir, tmp_path / "Qwen" / "Qwen2.5-0.5B-Instruct")
    assert default_model(tmp_path, cuda=False) == QWEN_SMALL
    place(tiny_model_dir, tmp_path / "Qwen" / "Qwen2.5-3B-Instruct")
    assert default_model(tmp_path, cuda=True) == "Qwen/Qwen2.5-3B-Instruct"
    assert default_model(tmp_path, cuda=False) == QWEN_SMALL
    monkeypatch.setenv("OCR_MODEL", "someone/else")
    assert default_model(tmp_path, cuda=True) == "someone/else"


def test_a_model_folder_that_cannot_be_listed_says_why(tmp_path, monkeypatch):
    monkeypatch.delenv("OCR_MODEL", raising=False)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ModelError, match="is a file, not a folder"):
        list_models(tmp_path / "notes.txt")
    with pytest.raises(ModelError, match="cannot be read .File name too long"):
        list_models(tmp_path / ("x" * 300))
    assert list_models(tmp_path / "not-made-yet")  # the presets: a download makes the folder
    assert default_model(tmp_path / ("x" * 300)) == DEMO  # every page asks for the default: it must not fail


# --- downloads from the fake Hub ---------------------------------------------------------------


def test_download_reports_byte_progress_and_skips_what_is_there(fake_hub, tmp_path, tiny_model_dir):
    progress: list[tuple[int, int]] = []
    source = resolve_model(
        "tiny/qwen",
        model_folder=tmp_path,
        allow_download=True,
        on_progress=lambda done, total: progress.append((done, total)),
        endpoint=fake_hub.endpoint,
    )
    total = sum(path.stat().st_size for path in tiny_model_dir.iterdir() if path.is_file())
    assert source.folder == tmp_path / "tiny" / "qwen"
    assert missing_files(source) is None
    assert progress[-1] == (total, total)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    assert {path.name for path in source.folder.iterdir() if path.is_file()} == set(fake_hub.repos["tiny/qwen"].files)
    assert not incomplete_files(source.folder)

    fake_hub.downloads.clear()
    download_model(source, endpoint=fake_hub.endpoint)
    assert fake_hub.downloads == []  # complete files are not fetched again


def test_download_resumes_a_dropped_connection(fake_hub, tmp_path):
    # huggingface_hub writes in 10 MiB chunks, so resuming shows on files above that size.
    weights = os.urandom(24 * 2**20)
    fake_hub.repos["big/model"] = FakeRepo({"config.json": b"{}", "model.safetensors": weights})
    fake_hub.drop_after_bytes = 11 * 2**20  # every response stops early; each retry asks for the rest
    progress: list[tuple[int, int]] = []
    source = parse_model_name("big/model", tmp_path)
    download_model(source, endpoint=fake_hub.endpoint, on_progress=lambda *args: progress.append(args))
    assert (source.folder / "model.safetensors").read_bytes() == weights
    assert fake_hub.downloads.count("model.safetensors") == 3
    assert progress[-1] == (len(weights) + 2, len(weights) + 2)


def test_failed_download_leaves_no_temporary_files(fake_hub, tmp_path):
    def cancel(done: int, total: int) -> None:
        if done > 1000:
            raise KeyboardInterrupt  # what a person stopping the CLI produces

    with pytest.raises(KeyboardInterrupt):
        resolve_model(
            "tiny/qwen", model_folder=tmp_path, allow_download=True, on_progress=cancel, endpoint=fake_hub.endpoint
        )
    folder = tmp_path / "tiny" / "qwen"
    assert not incomplete_files(tmp_path) and not list(tmp_path.rglob("*.lock"))
    assert not (folder / "model.safetensors").exists()
    assert missing_files(ModelSource("tiny/qwen", folder)) is not None


def test_gated_repo_asks_for_a_token_and_never_shows_it(fake_hub, tmp_path, monkeypatch, caplog):
    secret = "hf_secretTokenThatMustNotLeak123"
    monkeypatch.setenv("HF_TOKEN", secret)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ModelError, match="HF_TOKEN") as error:
        resolve_model("tiny/gated", model_folder=tmp_path, allow_download=True, endpoint=fake_hub.endpoint)
    assert "license" in str(error.value)
    assert secret not in str(error.value) and secret not in repr(error.value.__cause__)
    assert secret not in caplog.text
    assert f"Bearer {secret}" in fake_hub.authorizations  # the token does reach the Hub
    assert not (tmp_path / "tiny" / "gated").exists()  # nothing left behind


def test_no_disk_space_is_refused_before_downloading(fake_hub, tmp_path):
    with pytest.raises(ModelError, match="Not enough disk space"):
        resolve_model("tiny/huge", model_folder=tmp_path, allow_download=True, endpoint=fake_hub.endpoint)
    assert fake_hub.downloads == []


def test_unknown_repo(fake_hub, tmp_path):
    with pytest.raises(ModelError, match="does not exist on the Hub"):
        resolve_model("tiny/nothing", model_folder=tmp_path, allow_download=True, endpoint=fake_hub.endpoint)


def test_missing_gguf_file_in_repo(fake_hub, tmp_path):
    with pytest.raises(ModelError, match="no file named absent.gguf"):
        resolve_model("tiny/qwen:absent.gguf", model_folder=tmp_path, allow_download=True, endpoint=fake_hub.endpoint)


def test_unreachable_hub(fake_hub, tmp_path):
    with pytest.raises(ModelError, match="Cannot reach the Hugging Face Hub"):
        resolve_model("tiny/qwen", model_folder=tmp_path, allow_download=True, endpoint="http://127.0.0.1:9")


def test_a_truncated_gguf_says_it_is_cut_short(tmp_path, tiny_gguf_path):
    data = tiny_gguf_path.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[:-1000])
    problem = missing_files(ModelSource("cut", tmp_path, gguf_file="cut.gguf"))
    assert problem == f"{cut} is cut short ({len(data) - 1000} of {len(data)} bytes): download it again"
    with pytest.raises(ModelError, match=r"is cut short \(\d+ of \d+ bytes\): download it again"):
        resolve_model(str(cut))
    cut.write_bytes(data[:300])
    assert "cut short (300 bytes, inside its header)" in missing_files(
        ModelSource("cut", tmp_path, gguf_file="cut.gguf")
    )


def test_a_complete_gguf_passes_the_size_check(tiny_gguf_path, demo_gguf_path):
    for path in (tiny_gguf_path, demo_gguf_path):
        assert missing_files(ModelSource("ok", path.parent, gguf_file=path.name)) is None
