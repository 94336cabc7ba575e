"""RapidOCR: PaddleOCR models on ONNX Runtime; the models ship in the wheel, so it works offline."""

from __future__ import annotations

import importlib.util
import threading

import numpy as np
from PIL import Image

from ..errors import OcrError
from .base import OcrEngine, OcrLine, PageText
from .layout import group_into_lines


class RapidOcrEngine(OcrEngine):
    name = "rapidocr"
    modes = ("printed",)

    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self._ocr = RapidOCR()
        # ONNX Runtime sessions are thread-safe, but RapidOCR keeps per-call state on the object.
        self._lock = threading.Lock()

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        if importlib.util.find_spec("rapidocr_onnxruntime") is None:
            return False, "the package rapidocr-onnxruntime is not installed (pip install rapidocr-onnxruntime)."
        return True, "models ship with the package; works offline."

    def recognize(self, image: Image.Image, mode: str = "printed", lang: str = "en") -> PageText:
        warnings = []
        if mode != "printed":
            warnings.append(f"RapidOCR has no {mode} mode; the page was read as printed text.")
        if lang not in ("en", "eng"):
            warnings.append(f"RapidOCR's bundled models read Latin and Chinese text; language '{lang}' is not selectable.")
        with self._lock:
            try:
                result, _ = self._ocr(np.asarray(image.convert("RGB")))
            except Exception as error:  # onnxruntime raises its own exception types
                raise OcrError(f"RapidOCR failed on this page: {error}") from error
        boxes = []
        for quad, text, score in result or []:
            xs = [point[0] for point in quad]
            ys = [point[1] for point in quad]
            boxes.append(OcrLine(text, (int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))), float(score)))
        lines = group_into_lines(boxes)
        return PageText("\n".join(line.text for line in lines), lines, warnings)
