"""The child process that runs Aspose.OCR, so that its .NET runtime can only ever kill itself.

aspose-ocr-python-net's bundled .NET Core 3.1 calls abort() (uncatchable) when OpenSSL 1.1 or ICU
is missing, and may do so on other native failures. The engine in `aspose.py` starts this file
with `python aspose_worker.py REQUESTS_FD REPLIES_FD` and talks to it over two pipes, each wrapped
in a `multiprocessing.connection.Connection` (length-prefixed messages). Every message is JSON; a
recognize request is followed by one more message holding the page as raw RGB pixels.

    parent -> {"openssl_dir", "resource_dir", "allow_downloads", "license_path"}   (once)
    child  -> {"ok": true, "licensed": bool, "license_error": str|null} | {"ok": false, "error"}
    parent -> {"mode", "language", "areas", "width", "height"} + pixels                (per page)
    child  -> {"ok": true, "text", "lines": [[text, [l, t, r, b], confidence]]}
              | {"ok": false, "error", "resource": name of a missing download or null}

End of input means stop. Whatever the native code prints goes to stdout and stderr, never into
the pipes. The file imports only the standard library (and Aspose), so it starts fast and needs
nothing from the package.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import sys
from multiprocessing.connection import Connection

OPENSSL_LIBRARIES = ("libcrypto.so.1.1", "libssl.so.1.1")  # libssl links against libcrypto: load it first
_MISSING_RESOURCE = re.compile(r"install the '([^']+)'")


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
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an aborting runtime leaves no core file behind
    requests = Connection(int(sys.argv[1]), writable=False)
    replies = Connection(int(sys.argv[2]), readable=False)
    try:
        settings = json.loads(requests.recv_bytes())
    except EOFError:
        return
    try:
        aspose_ocr, api, hello = _start_aspose(settings)
    except Exception as error:  # ImportError, OSError from a broken OpenSSL folder, .NET errors
        replies.send_bytes(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}).encode())
        return
    replies.send_bytes(json.dumps(hello).encode())
    while True:
        try:
            request, pixels = json.loads(requests.recv_bytes()), requests.recv_bytes()
        except EOFError:
            return
        replies.send_bytes(json.dumps(_handle(aspose_ocr, api, request, pixels)).encode())


if __name__ == "__main__":
    main()
