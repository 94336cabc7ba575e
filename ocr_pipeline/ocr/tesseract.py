"""Tesseract through pytesseract, when the `tesseract` binary is on the PATH."""

from __future__ import annotations

import shutil
from collections import defaultdict

from PIL import Image

from ..errors import OcrError
from ..notices import ENGINE, Notice
from .base import TURNED_NOTES, OcrEngine, OcrLine, PageText, page_confidence, turned_back

_LANGS = {"en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "pt": "por", "nl": "nld"}
# Below this mean confidence per character (or with fewer words) the page may lie on its side or upside
# down: Tesseract's orientation detection (`--psm 0`, half a second a page) is asked, and the page
# read turned where that reads with more confidence. A SROIE receipt upright: 101 words at 0.75;
# turned a quarter: 11 words at 0.62, or none; upside down: 103 words at 0.34.
CHECK_ORIENTATION_BELOW, CHECK_ORIENTATION_WORDS = 0.65, 20


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
        warnings = (
            []
            if mode == "printed"
            else [Notice(f"Tesseract has no {mode} mode; the page was read as printed text.", ENGINE)]
        )
        text = self._read(image, lang)
        turns = self._quarter_turns(image) if _doubtful(text) else 0
        if turns:
            turned = turned_back(self._read(image.rotate(90 * turns, expand=True), lang), image.size[::-1], turns)
            if page_confidence(turned) > page_confidence(text):
                text = turned
                warnings.append(Notice(TURNED_NOTES[turns], ENGINE))
        text.warnings = warnings
        return text

    def _quarter_turns(self, image: Image.Image) -> int:
        """Counter-clockwise quarter turns that put the page upright, by Tesseract's orientation
        detection; 0 where it is upright or cannot tell (too few letters to judge)."""
        import pytesseract

        try:
            found = pytesseract.image_to_osd(image, output_type=pytesseract.Output.DICT)
        except pytesseract.TesseractError:
            return 0
        return (360 - int(found.get("rotate", 0))) % 360 // 90

    def _read(self, image: Image.Image, lang: str) -> PageText:
        import pytesseract

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
        return PageText("\n".join(line.text for line in lines), lines)


def _words(text: PageText) -> int:
    return sum(len(line.text.split()) for line in text.lines)


def _doubtful(text: PageText) -> bool:
    return _words(text) < CHECK_ORIENTATION_WORDS or page_confidence(text) < CHECK_ORIENTATION_BELOW
