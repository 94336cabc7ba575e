"""Uploaded licenses land in one folder under a content name, whatever the client called them."""

import pytest

from ocr_pipeline.errors import PipelineError
from ocr_pipeline.licenses import license_folder, save_license

LICENSE = b'<?xml version="1.0"?>\n<License><Data><Products><Product>Aspose.OCR</Product></Products></Data></License>\n'


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("OCR_PIPELINE_HOME", str(tmp_path / "home"))
    return tmp_path


def test_saved_by_content_inside_the_license_folder(home):
    path = save_license(LICENSE, "../../traversal_probe.lic")
    assert path.parent == license_folder() and path.name.startswith("license-") and path.suffix == ".lic"
    assert path.read_bytes() == LICENSE
    assert sorted(p.name for p in home.rglob("*") if p.is_file()) == [path.name]


def test_the_same_content_is_written_once(home):
    first = save_license(LICENSE)
    stamp = first.stat().st_mtime_ns
    assert save_license(LICENSE) == first and first.stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    ("data", "why"),
    [(b"", "empty"), (b"\x00\x01binary", "not an Aspose license"), (b"<" + b"x" * 300_000, "too large")],
)
def test_what_is_no_license_is_refused(data, why):
    with pytest.raises(PipelineError, match=why):
        save_license(data, "x.lic")
