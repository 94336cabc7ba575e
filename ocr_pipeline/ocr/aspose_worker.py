"""The child process that runs Aspose.OCR, so that its .NET runtime can only ever kill itself.

aspose-ocr-python-net's bundled .NET Core 3.1 calls abort() (uncatchable) when OpenSSL 1.1 or ICU
is missing, and may do so on other native failures. The engine in `aspose.py` starts this file
with `python aspose_worker.py` and talks to it over stdin/stdout in frames: a 4-byte big-endian
length, then that many bytes. Every message is a JSON frame; a recognize request is followed by
one more frame holding the page as raw RGB pixels.

    parent -> {"openssl_dir", "resource_dir", "allow_downloads", "license_path"}   (once)
    child  -> {"ok": true, "licensed": bool, "license_error": str|null} | {"ok": false, "error"}
    parent -> {"mode", "language", "areas", "width", "height"} + pixels                (per page)
    child  -> {"ok": true, "text", "lines": [[text, [l, t, r, b], confidence]]}
              | {"ok": false, "error", "resource": name of a missing download or null}

End of input means stop. The file imports only the standard library (and Aspose), so it starts
fast and needs nothing from the package.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import struct
import sys
from typing import BinaryIO

FRAME_LENGTH = struct.Struct(">I")
OPENSSL_LIBRARIES = ("libcrypto.so.1.1", "libssl.so.1.1")  # libssl links against libcrypto: load it first
_MISSING_RESOURCE = re.compile(r"install the '([^']+)'")


def pack_frame(data: bytes) -> bytes:
    return FRAME_LENGTH.pack(len(data)) + data


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_frame(stream: BinaryIO) -> bytes | None:
    header = _read_exactly(stream, FRAME_LENGTH.size)
    return None if header is None else _read_exactly(stream, FRAME_LENGTH.unpack(header)[0])


def _send(stream: BinaryIO, message: dict) -> None:
    stream.write(pack_frame(json.dumps(message).encode()))
    stream.flush()


def _start_aspose(settings: dict):
    """Load OpenSSL 1.1 globally (so .NET's own dlopen finds it), then start Aspose.OCR."""
    for library in OPENSSL_LIBRARIES:
        ctypes.CDLL(os.path.join(settings["openssl_dir"], library), mode=ctypes.RTLD_GLOBAL)
    import aspose.ocr as aspose_ocr

    aspose_ocr.Resources.allow_automatic_downloads(bool(settings["allow_downloads"]))
    aspose_ocr.Resources.set_local_path(settings["resource_dir"])
    license_error = None
    if settings.get("license_path"):
        try:
            aspose_ocr.License().set_license(settings["license_path"])
        except RuntimeError as error:
            license_error = str(error)
    api = aspose_ocr.AsposeOcr()
    return aspose_ocr, api, {"ok": True, "licensed": aspose_ocr.License().is_licensed, "license_error": license_error}


def _recognize(aspose_ocr, api, request: dict, pixels: bytes) -> dict:
    source = aspose_ocr.OcrInput(aspose_ocr.InputType.SINGLE_IMAGE)
    source.add(bytearray(pixels), request["width"], request["height"], aspose_ocr.PixelType.RGB)
    if request["mode"] == "handwritten":
        result = api.recognize_handwritten_text(source)[0]  # takes no settings: language and areas do not apply
    else:
        settings = aspose_ocr.RecognitionSettings()
        settings.language = getattr(aspose_ocr.Language, request["language"])
        settings.detect_areas_mode = getattr(aspose_ocr.DetectAreasMode, request["areas"])
        result = api.recognize(source, settings)[0]
    lines = []
    for line in result.recognition_lines_result:
        box = line.line
        lines.append([line.text_in_line, [box.x, box.y, box.x + box.width, box.y + box.height], line.confidence])
    return {"ok": True, "text": result.recognition_text, "lines": lines}


def _handle(aspose_ocr, api, request: dict, pixels: bytes) -> dict:
    for enum, key in ((aspose_ocr.Language, "language"), (aspose_ocr.DetectAreasMode, "areas")):
        if not hasattr(enum, request[key]):
            return {"ok": False, "error": f"Aspose.OCR has no {key} '{request[key]}'.", "resource": None}
    try:
        return _recognize(aspose_ocr, api, request, pixels)
    except Exception as error:  # the binding raises RuntimeError("Proxy error(...)") for .NET exceptions
        missing = _MISSING_RESOURCE.search(str(error))
        return {"ok": False, "error": str(error), "resource": missing.group(1) if missing else None}


def main() -> None:
    # Run as a script, Python puts this folder first on sys.path, and its aspose.py (the engine)
    # would shadow the aspose package.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    # Frames go to a private copy of stdout; fd 1 is pointed at stderr so that anything the
    # native code prints cannot corrupt the protocol.
    replies = os.fdopen(os.dup(1), "wb")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an aborting runtime leaves no core file behind
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    settings = _read_frame(requests)
    if settings is None:
        return
    try:
        aspose_ocr, api, hello = _start_aspose(json.loads(settings))
    except Exception as error:  # ImportError, OSError from a broken OpenSSL folder, .NET errors
        _send(replies, {"ok": False, "error": f"{type(error).__name__}: {error}"})
        return
    _send(replies, hello)
    while (header := _read_frame(requests)) is not None:
        pixels = _read_frame(requests)
        if pixels is None:
            return
        _send(replies, _handle(aspose_ocr, api, json.loads(header), pixels))


if __name__ == "__main__":
    main()
