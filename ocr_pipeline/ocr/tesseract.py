"""Tesseract through pytesseract, when the `tesseract` binary is on the PATH."""

from __future__ import annotations

import shutil
from collections import defaultdict

from PIL import Image

from ..errors import OcrError
from ..notices import ENGINE, Notice
from .base import OcrEngine, OcrLine, PageText

_LANGS = {"en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "pt": "por", "nl": "nld"}


class TesseractEngine(OcrEngine):
    name = "tesseract"
    modes = ("printed",)

    def __init__(self, psm: int = 4) -> None:
        # psm 4 (a single column of variable-size text) reads receipts better than the default 3.
        self.psm = psm

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        if shutil.which("tesseract") is None:
            return False, "the tesseract binary is not on the PATH (Debian: apt-get install tesseract-ocr)."
        return True, "tesseract binary found."

    def recognize(self, image: Image.Image, mode: str = "printed", lang: str = "en") -> PageText:
        import pytesseract

        warnings = (
            []
            if mode == "printed"
            else [Notice(f"Tesseract has no {mode} mode; the page was read as printed text.", ENGINE)]
        )
        try:
            data = pytesseract.image_to_data(
                image, lang=_LANGS.get(lang, lang), config=f"--psm {self.psm}", output_type=pytesseract.Output.DICT
            )
        except pytesseract.TesseractError as error:
            raise OcrError(
                f"Tesseract failed: {error.message or error} (is the language pack for '{lang}' installed?)"
            ) from error
        words = defaultdict(list)
        for i, word in enumerate(data["text"]):
            if word.strip():
                key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
                box = (
                    data["left"][i],
                    data["top"][i],
                    data["left"][i] + data["width"][i],
                    data["top"][i] + data["height"][i],
                )
                words[key].append((word, box, float(data["conf"][i])))
        lines = []
        for members in words.values():
            box = tuple(f(m[1][k] for m in members) for k, f in zip(range(4), (min, min, max, max)))
            confidence = sum(m[2] for m in members) / len(members) / 100
            lines.append(OcrLine(" ".join(m[0] for m in members), box, confidence))
        return PageText("\n".join(line.text for line in lines), lines, warnings)
