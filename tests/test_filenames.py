"""Names chosen by a client or an archive never steer a path."""

import pytest

from ocr_pipeline.filenames import safe_member_path, safe_name


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("invoice.png", "invoice.png"),
        ("../../traversal_probe.lic", "traversal_probe.lic"),
        ("/etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("C:\\Users\\me\\scan.tif", "scan.tif"),
        (".hidden.lic", "hidden.lic"),
        ("..", "upload"),
        ("", "upload"),
        ("bad\x00name\n.png", "badname.png"),
        ("what?<>|.pdf", "what____.pdf"),
        ("re\u0301sume\u0301.pdf", "r\u00e9sum\u00e9.pdf"),  # NFC
    ],
)
def test_safe_name(given, expected):
    assert safe_name(given) == expected


def test_long_names_keep_their_suffix():
    name = safe_name("x" * 500 + ".jpeg")
    assert len(name) == 120 and name.endswith(".jpeg")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("scans/a.png", "scans/a.png"),
        ("../../etc/evil.png", "etc/evil.png"),
        ("/abs/b.png", "abs/b.png"),
        ("a/./b/../c.png", "a/b/c.png"),
        ("../..", None),
    ],
)
def test_safe_member_path(given, expected):
    assert safe_member_path(given) == expected
