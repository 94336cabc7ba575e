"""Aspose.OCR (aspose-ocr-python-net), run in a child process so it can never take this one down.

Its bundled .NET Core 3.1 aborts the process (SIGABRT, not an exception) when OpenSSL 1.1 or ICU
is missing. So Aspose only ever runs inside `aspose_worker.py`: started on first use with ICU
switched off (invariant globalization) and OpenSSL 1.1 preloaded from `.vendor/openssl11/`
(scripts/install_openssl11.sh), kept for later pages, restarted when it has died. A child that
dies or hangs costs one page an OcrError, never the dashboard.

Without a license Aspose runs in trial mode: it cuts each page's text and appends a
"Trial Licenses" banner; the banner is removed and the page carries a warning instead.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from PIL import Image

from ..config import model_dir, project_root
from ..errors import EngineUnavailable, OcrError
from ..notices import TRUNCATED, Notice
from .aspose_worker import OPENSSL_LIBRARIES
from .base import OcrEngine, OcrLine, PageText

PACKAGE = "aspose-ocr-python-net"
RESOURCE_REPOSITORY = "https://github.com/aspose-ocr/resources"
AREAS = ("universal", "lean", "document_layout", "multicolumn", "table", "curved_text", "formula")
START_TIMEOUT_S = 120.0
_WORKER_FILE = Path(__file__).with_name("aspose_worker.py")

# ISO 639-1 codes to Aspose's Language enum; other values are passed upper-cased, so Aspose's own
# names work too ("eng", "latin", "auto"). Latin-script languages ship with the package; the
# others are downloadable resources.
_LANGUAGES = {
    "en": "ENG", "de": "DEU", "fr": "FRA", "es": "SPA", "it": "ITA", "pt": "POR", "nl": "NLD",
    "pl": "POL", "cs": "CES", "sk": "SLK", "sl": "SLV", "hr": "HRV", "da": "DAN", "sv": "SWE",
    "no": "NOR", "fi": "FIN", "et": "EST", "lv": "LAV", "lt": "LIT", "hu": "HUN", "ro": "RON",
    "tr": "TUR", "ru": "RUS", "uk": "UKR", "bg": "BUL", "be": "BEL", "sr": "SRP", "kk": "KAZ",
    "zh": "CHINESE", "ja": "JPN", "ko": "KOR", "ar": "ARA", "fa": "PES", "hi": "HIN", "vi": "VIE",
}  # fmt: skip


def openssl_dir() -> Path:
    """Where libssl.so.1.1 and libcrypto.so.1.1 are looked up: `ASPOSE_OPENSSL_DIR`, else .vendor/openssl11."""
    value = os.environ.get("ASPOSE_OPENSSL_DIR")
    return Path(value) if value else project_root() / ".vendor" / "openssl11"


def resource_dir() -> Path:
    """Where Aspose keeps the resources it downloads (handwriting, non-Latin languages, layouts)."""
    return model_dir() / "aspose"


def strip_trial_banner(text: str) -> tuple[str, bool]:
    """The text without trial mode's "*** Trial Licenses ***" lines (whole or cut short), and whether it had any."""
    kept, found = [], False
    for line in text.splitlines():
        bare = line.strip()
        if bare.startswith("*****") and "Trial Licenses".startswith(bare.strip("* ")):
            found = True
        else:
            kept.append(line)
    return "\n".join(kept).rstrip(), found


def lines_with_boxes(text: str, detected: list) -> list[OcrLine]:
    """The text's lines, each with Aspose's box where Aspose reported that very line.

    The text is what counts: in trial mode Aspose cuts the text but not its line list.
    """
    remaining = list(detected)
    lines = []
    for row in text.splitlines():
        if not row.strip():
            continue
        match = next((i for i, (line_text, _, _) in enumerate(remaining) if line_text == row), None)
        if match is None:
            lines.append(OcrLine(row))
            continue
        _, box, confidence = remaining[match]
        del remaining[: match + 1]
        lines.append(OcrLine(row, tuple(box), confidence or None))  # Aspose reports 0.0 when it has no confidence
    return lines


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _WorkerLost(Exception):
    """The child died, hung or could not start; the message says how."""


class _Worker:
    """One running aspose_worker.py, spoken to over two pipes (`multiprocessing.connection`)."""

    def __init__(self, settings: dict, timeout_s: float):
        env = dict(os.environ)
        if "CLR_ICU_VERSION_OVERRIDE" not in env:
            # .NET Core 3.1 knows no ICU newer than its release and aborts; invariant mode needs none.
            env.setdefault("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        self._stderr = tempfile.TemporaryFile()
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, str(_WORKER_FILE), str(child_reads), str(child_writes)],
                stdin=subprocess.DEVNULL,
                stdout=self._stderr,
                stderr=self._stderr,
                pass_fds=(child_reads, child_writes),
                env=env,
            )
        finally:
            os.close(child_reads)
            os.close(child_writes)
        self._requests = Connection(parent_writes, readable=False)
        self._replies = Connection(parent_reads, writable=False)
        try:
            self.hello = self.call(settings, None, timeout_s)
            if not self.hello["ok"]:
                raise _WorkerLost(self.hello["error"])
        except _WorkerLost:
            self.stop()
            raise

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, message: dict, payload: bytes | None, timeout_s: float) -> dict:
        """Send a message (and its payload) and wait up to timeout_s for the reply."""
        try:
            self._requests.send_bytes(json.dumps(message).encode())
            if payload is not None:
                self._requests.send_bytes(payload)
        except OSError:  # BrokenPipeError: the child is gone
            raise _WorkerLost(self._death()) from None
        if not self._replies.poll(timeout_s):
            self.process.kill()
            self.stop()
            raise _WorkerLost(f"no answer within {timeout_s:g} s, so it was stopped")
        try:
            return json.loads(self._replies.recv_bytes())
        except (EOFError, OSError):
            raise _WorkerLost(self._death()) from None

    def _death(self) -> str:
        """How the child ended: its exit status and the first lines it wrote to stderr."""
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        how = f"killed by {_signal_name(-code)}" if code < 0 else f"exit status {code}"
        self._stderr.seek(0)
        said = [line.strip() for line in self._stderr.read().decode(errors="replace").splitlines()]
        said = [line for line in said if line and not line.startswith("at ")][:3]  # skip .NET stack frames
        self.stop()
        return f"{how}: {' / '.join(said)}" if said else how

    def stop(self) -> None:
        """Close its input (the child exits on end of input); kill it if it does not go."""
        if not self._requests.closed:
            self._requests.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if not self._replies.closed:
            self._replies.close()
        self._stderr.close()


class AsposeEngine(OcrEngine):
    """Aspose.OCR for printed and handwritten text.

    license_path: an Aspose.OCR license file (default: `ASPOSE_LICENSE`); without one, trial mode.
    allow_downloads: let Aspose fetch the resources it lacks (default: `ASPOSE_ALLOW_DOWNLOADS=1`).
    areas: Aspose's areas detection (`AREAS`); "universal" is Aspose's default, "lean" is faster
        for a few plain lines, "table", "document_layout" and "curved_text" need downloads.
    timeout_s: the longest one page may take before the worker is stopped.
    """

    name = "aspose"
    modes = ("printed", "handwritten")

    _probe_lock = threading.Lock()
    _probe_results: dict[str, tuple[bool, str]] = {}

    def __init__(
        self,
        license_path: str | None = None,
        allow_downloads: bool | None = None,
        areas: str = "universal",
        timeout_s: float = 600.0,
    ) -> None:
        if areas not in AREAS:
            raise OcrError(f"unknown Aspose areas mode '{areas}'; choose one of {', '.join(AREAS)}.")
        self.license_path = license_path or os.environ.get("ASPOSE_LICENSE") or None
        if allow_downloads is None:
            allow_downloads = os.environ.get("ASPOSE_ALLOW_DOWNLOADS", "").lower() in ("1", "true", "yes")
        self.allow_downloads = allow_downloads
        self.areas = areas
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._worker: _Worker | None = None

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        """Package installed, OpenSSL 1.1 present, and (once per process) Aspose starts in a child."""
        try:
            version = importlib.metadata.version(PACKAGE)
        except importlib.metadata.PackageNotFoundError:
            return False, f"the package {PACKAGE} is not installed (pip install {PACKAGE})."
        folder = openssl_dir()
        missing = [library for library in OPENSSL_LIBRARIES if not (folder / library).is_file()]
        if missing:
            return False, (
                f"its bundled .NET needs OpenSSL 1.1 ({', '.join(missing)} not in {folder}); "
                "run scripts/install_openssl11.sh, or set ASPOSE_OPENSSL_DIR to a folder that has both libraries."
            )
        with cls._probe_lock:
            if str(folder) not in cls._probe_results:
                cls._probe_results[str(folder)] = cls._probe(version)
            available, reason = cls._probe_results[str(folder)]
        return available, reason  # whether a license applies depends on the caller's (the sidebar says)

    @classmethod
    def _probe(cls, version: str) -> tuple[bool, str]:
        try:
            _Worker(cls(allow_downloads=False)._settings(), START_TIMEOUT_S).stop()
        except (_WorkerLost, OSError) as error:
            return False, f"Aspose.OCR could not start in a test process ({error})."
        return True, f"{PACKAGE} {version} starts, with OpenSSL 1.1 from {openssl_dir()}."

    @property
    def is_licensed(self) -> bool:
        """Whether Aspose accepted the license (starts the worker); False without one."""
        if not self.license_path:
            return False
        with self._lock:
            return self._running_worker().hello["licensed"]

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id while it runs (for diagnostics)."""
        worker = self._worker
        return worker.process.pid if worker and worker.alive else None

    def recognize(self, image: Image.Image, mode: str = "printed", lang: str = "en") -> PageText:
        if mode not in self.modes:
            raise OcrError(f"Aspose.OCR has no mode '{mode}'; choose one of {', '.join(self.modes)}.")
        rgb = image.convert("RGB")
        pixels = rgb.tobytes()
        request = {
            "mode": mode,
            "language": _LANGUAGES.get(lang.lower(), lang.upper()),
            "areas": self.areas.upper(),
            "width": rgb.width,
            "height": rgb.height,
        }
        with self._lock:
            worker = self._running_worker()
            try:
                reply = worker.call(request, pixels, self.timeout_s)
            except _WorkerLost as lost:
                self._worker = None
                raise OcrError(
                    f"Aspose.OCR's worker process failed on this page ({lost}); it is restarted for the next page."
                ) from None
        if not reply["ok"]:
            what = (
                "handwritten text" if mode == "handwritten" else f"printed text in '{lang}', areas mode '{self.areas}'"
            )
            raise OcrError(self._failure_message(reply, what))
        text, had_banner = strip_trial_banner(reply["text"])
        warnings = []
        if had_banner or not worker.hello["licensed"]:
            warnings.append(self._trial_warning(worker.hello["license_error"]))
        return PageText(text, lines_with_boxes(text, reply["lines"]), warnings)

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None

    def _settings(self) -> dict:
        return {
            "openssl_dir": str(openssl_dir()),
            "resource_dir": str(resource_dir()),
            "allow_downloads": self.allow_downloads,
            "license_path": self.license_path,
        }

    def _running_worker(self) -> _Worker:
        """The worker, started (again) if it is not running; the caller holds the lock."""
        if self._worker is not None and not self._worker.alive:
            self._worker.stop()
            self._worker = None
        if self._worker is None:
            try:
                self._worker = _Worker(self._settings(), START_TIMEOUT_S)
            except (_WorkerLost, OSError) as error:
                raise EngineUnavailable(
                    self.name,
                    f"its worker process could not start ({error}). It needs OpenSSL 1.1 in {openssl_dir()} "
                    "(scripts/install_openssl11.sh) and ICU switched off "
                    "(DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1, the default).",
                ) from None
        return self._worker

    def _failure_message(self, reply: dict, what: str) -> str:
        resource = reply["resource"]
        if not resource:
            return f"Aspose.OCR failed on this page ({what}): {reply['error']}"
        by_hand = f"download {resource} from {RESOURCE_REPOSITORY} and put it in {resource_dir()}"
        if self.allow_downloads:
            return (
                f"Aspose.OCR needs the resource '{resource}' for {what} and could not download it "
                f"({reply['error']}); {by_hand}."
            )
        return (
            f"Aspose.OCR needs the resource '{resource}' for {what}, which is not in {resource_dir()} and is "
            f"downloaded only when allowed: set ASPOSE_ALLOW_DOWNLOADS=1 on a machine with internet access, or "
            f"{by_hand}."
        )

    def _trial_warning(self, license_error: str | None) -> Notice:
        if license_error:
            why = f"the license {self.license_path} was not accepted ({license_error})"
        else:
            why = "no license is set"
        return Notice(
            f"Aspose.OCR ran in trial mode because {why}: it returns only the start of each page, at most about "
            "300 characters (less on short pages and with the 'universal' areas mode). Set ASPOSE_LICENSE to the "
            "path of your Aspose.OCR license file, or upload it in the dashboard, to read whole pages.",
            TRUNCATED,
        )
