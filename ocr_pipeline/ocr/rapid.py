"""RapidOCR (`rapidocr` 3.x): PaddleOCR's PP-OCRv6 small models on ONNX Runtime, shipped in the wheel.

The models are named by path, so RapidOCR never looks for a download: the engine works offline.
What the project adds, measured on the 25 SROIE receipts (mean CER, case-insensitive, whitespace
collapsed, reading order included; plain rapidocr 3.10 reads them at 0.143; settings chosen on
receipts 000-012 and checked on 013-024, see docs/benchmarks.md):

- No per-line orientation classifier. The bundled one (PP-OCR v2.0) turns a few upright lines of
  many receipts upside down ("8.90 S" read as "S 06°8"): without it 0.143 -> 0.135. A page that
  is upside down as a whole reads with a low confidence (0.67-0.73 against 0.97-0.99 upright),
  so such a page is read again turned 180° and the more confident reading is kept. A page lying
  on its side (a receipt scanned across the glass) is found by its text boxes, which stand
  upright (on the 25 receipts turned either way, 98-100% of the characters sit in boxes taller
  than wide, none upright); confidence cannot find it, for the recogniser turns each upright box
  itself, and one of the two ways round reads confidently in column order. Such a page is read
  again turned a quarter turn, and the other quarter turn too when that reading is not confident.
  Text that really runs down the page (vertical Japanese) would be turned too; the documents this
  app reads do not have it.
- A mostly blank page (a letter's last lines, a short note on a full page) is read from the part
  with ink: on such a page the detector finds nothing or only some lines (digital PDF pages of one
  to five lines at 9-20 pt, rendered at 300 dpi: 118 of 132 lines read right, 127 cropped). A
  page with more ink (every SROIE receipt, a full letter) is read whole, as before.
- Reading order: boxes grouped into rows from their rotated corners (see `layout`): 0.135 -> 0.132.
- Word spaces: PP-OCRv6 writes most of them itself. Where it runs two words together (more often
  on noisy scans), a space goes back between two characters that a blank gap on the page at least
  `MIN_SPACE` of the box's height wide separates, never inside a number, an amount or a code
  (`_may_split`): 0.132 -> 0.131, and a noisy generated receipt reads with every space right.
- NFKC: full-width punctuation (（ ）：) becomes ASCII.

Detection and recognition thresholds are RapidOCR's defaults: no other box_thresh, thresh,
unclip_ratio, text_score, detector input size or page size limit lowered CER by more than 0.002.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import threading
import unicodedata
from pathlib import Path
from collections.abc import Sequence

import numpy as np
from PIL import Image

from ..errors import OcrError
from ..notices import ENGINE, Notice
from .base import TURNED_NOTES, OcrEngine, OcrLine, PageText, page_confidence, turned_back
from .layout import group_into_lines

PACKAGE = "rapidocr"
# the classifier is named too, for RapidOCR as it comes (bench ocr's baseline); the engine does not use it
MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
MODEL_VERSION = "PP-OCRv6 small"
# A blank gap this wide, as a share of the text box's height, is a word space. On the receipts
# 0.35-0.5 score alike; clean proportional print leaves 0.36-0.45 between words, 0.21 inside them.
MIN_SPACE = 0.35
# A speck of dust in a word gap, at most this many columns of at most this many ink pixels, is
# not ink: on a noisy scan it would split the gap into two too narrow to count.
SPECK_COLUMNS, SPECK_PIXELS = 2, 2
# Below this mean confidence per character the page is read again turned 180°.
UPSIDE_DOWN_BELOW = 0.85
# A page whose ink (darker than INK_BELOW) lies within at most this share of it is read cropped to
# that part, with a margin of INK_MARGIN of its longer side: the detector misses the lines of a
# page that is mostly blank (a digital letter's last page, one line at 10 pt: found 0 times in 4).
INK_BELOW, INK_MARGIN, SPARSE_BELOW = 200, 0.06, 0.5
# RapidOCR scales a page's longer side to 2,000 pixels and fails where the shorter one then comes to
# almost nothing (a strip of 10 x 4,000 pixels); such a page is read padded with white below or to
# the right, to at least this share of its longer side.
MIN_ASPECT = 1 / 50
# A page whose characters sit mostly in boxes this much taller than wide lies on its side.
SIDEWAYS_ASPECT, SIDEWAYS_SHARE = 1.5, 0.5
_OPENING, _CLOSING, _JOINERS = "([{", ")]}", "-/"


def model_folder() -> Path | None:
    """Where the rapidocr wheel keeps its ONNX models (None if the package is not installed)."""
    spec = importlib.util.find_spec(PACKAGE)
    return Path(spec.origin).parent / "models" if spec and spec.origin else None


def engine_model() -> str:
    """The package and model version, as results note them."""
    return f"{PACKAGE} {importlib.metadata.version(PACKAGE)}, {MODEL_VERSION}"


def bundled_model_params() -> dict:
    """RapidOCR parameters that name the wheel's own model files, so that it never downloads one."""
    paths = {f"{task}.model_path": str(model_folder() / name) for task, name in MODEL_FILES.items()}
    return paths | {"Global.log_level": "error"}


class RapidOcrEngine(OcrEngine):
    name = "rapidocr"
    modes = ("printed",)

    def __init__(self) -> None:
        from rapidocr import RapidOCR

        self._ocr = RapidOCR(params=bundled_model_params() | {"Global.use_cls": False})
        # one multilingual model: Chinese, Japanese and ~50 Latin-script languages (ISO codes, "ch", "japan")
        self._languages = {"eng", "zh", "ja", *RapidOCR.list_supported_langs("rec", "PP-OCRv6", "small")}
        # RapidOCR keeps per-call options on the object, so calls into it are serialised;
        # everything after the call works on local data and runs in parallel.
        self._lock = threading.Lock()
        self.model = engine_model()

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        for module, package in ((PACKAGE, PACKAGE), ("onnxruntime", "onnxruntime")):
            if importlib.util.find_spec(module) is None:
                return False, f"the package {package} is not installed (pip install {package})."
        missing = [name for name in MODEL_FILES.values() if not (model_folder() / name).is_file()]
        if missing:
            return False, f"the rapidocr wheel lacks its bundled models ({', '.join(missing)}); reinstall rapidocr."
        return True, f"{MODEL_VERSION} models ship with the package; works offline."

    def recognize(self, image: Image.Image, mode: str = "printed", lang: str = "en") -> PageText:
        warnings = []
        if mode != "printed":
            warnings.append(Notice(f"RapidOCR has no {mode} mode; the page was read as printed text.", ENGINE))
        if lang.lower() not in self._languages:
            warnings.append(
                Notice(
                    f"RapidOCR's {MODEL_VERSION} model does not read '{lang}'; the page was read with "
                    "its multilingual model (Chinese, Japanese, Latin script).",
                    ENGINE,
                )
            )
        gray = np.asarray(image.convert("L"))
        rows, columns = _ink_region(gray)  # the detector misses text on a page that is mostly blank
        rgb = _padded(np.asarray(image.convert("RGB"))[rows, columns])
        gray = _padded(gray[rows, columns])
        result, with_positions = self._read(rgb)
        text, turns = page_text(result, with_positions, gray), 0
        if _lies_sideways(result):  # however confident: the recogniser turns upright boxes itself
            text, turns = self._read_turned(rgb, gray, 1), 1
            if page_confidence(text) < UPSIDE_DOWN_BELOW:
                clockwise = self._read_turned(rgb, gray, 3)
                if page_confidence(clockwise) > page_confidence(text):
                    text, turns = clockwise, 3
        elif text.lines and page_confidence(text) < UPSIDE_DOWN_BELOW:
            turned = self._read_turned(rgb, gray, 2)
            if page_confidence(turned) > page_confidence(text):
                text, turns = turned, 2
        if turns:
            warnings.append(Notice(TURNED_NOTES[turns], ENGINE))
        for line in text.lines:  # back from the part with ink to the page
            x0, y0, x1, y1 = line.box
            line.box = (x0 + columns.start, y0 + rows.start, x1 + columns.start, y1 + rows.start)
        text.warnings = warnings
        return text

    def _read_turned(self, rgb: np.ndarray, gray: np.ndarray, quarter_turns: int) -> PageText:
        """The page read turned counter-clockwise by `quarter_turns` quarters, its boxes put back
        on the page as it is."""
        turned_gray = np.ascontiguousarray(np.rot90(gray, quarter_turns))
        text = page_text(*self._read(np.ascontiguousarray(np.rot90(rgb, quarter_turns))), turned_gray)
        return turned_back(text, gray.shape, quarter_turns)

    def _read(self, page: np.ndarray) -> tuple[object, bool]:
        """RapidOCR's output for the page, and whether it holds each character's box."""
        with self._lock:
            try:
                return self._ocr(page, return_word_box=True, return_single_char_box=True), True
            except Exception:  # onnxruntime and RapidOCR raise their own exception types
                # Character positions are an extra: a page they trip up is still read, without space repair.
                try:
                    return self._ocr(page, return_word_box=False, return_single_char_box=False), False
                except Exception as error:
                    raise OcrError(f"RapidOCR failed on this page: {error or type(error).__name__}") from error


def page_text(result, with_positions: bool, gray: np.ndarray) -> PageText:
    """Turn RapidOCR's output (boxes, texts, scores and, `with_positions`, each character's box)
    into reading-order lines."""
    texts = list(result.txts or [])
    if not texts:
        return PageText("")
    words = list(result.word_results) if with_positions else []
    if len(words) != len(texts):  # RapidOCR drops the character list of a line it could not place
        words = [()] * len(texts)
    boxes, quads = [], []
    for quad, text, score, characters in zip(result.boxes.tolist(), texts, result.scores, words):
        if characters:
            text = restore_spaces(gray, quad, text, [box for _, _, box in characters])
        text = unicodedata.normalize("NFKC", text).strip()
        if not text:
            continue
        xs = [point[0] for point in quad]
        ys = [point[1] for point in quad]
        boxes.append(OcrLine(text, (int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))), float(score)))
        quads.append(quad)
    lines = group_into_lines(boxes, quads)
    return PageText("\n".join(line.text for line in lines), lines)


def _ink_region(gray: np.ndarray) -> tuple[slice, slice]:
    """The rows and columns of the part of a mostly blank page that has ink on it, with a margin;
    the whole page where ink covers more (a receipt, a full letter: nothing changes)."""
    height, width = gray.shape
    whole = slice(0, height), slice(0, width)
    ink = gray < INK_BELOW
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return whole
    margin = max(32, int(INK_MARGIN * max(height, width)))
    top, bottom = max(0, rows[0] - margin), min(height, rows[-1] + 1 + margin)
    left, right = max(0, columns[0] - margin), min(width, columns[-1] + 1 + margin)
    if (bottom - top) * (right - left) > SPARSE_BELOW * height * width:
        return whole
    return slice(int(top), int(bottom)), slice(int(left), int(right))


def _padded(pixels: np.ndarray) -> np.ndarray:
    """The page (contiguous, as RapidOCR wants it), with white added below or to the right where it
    is thinner than `MIN_ASPECT` of its longer side; its text keeps its place."""
    height, width = pixels.shape[:2]
    least = int(np.ceil(max(height, width) * MIN_ASPECT))
    extra = ((0, max(0, least - height)), (0, max(0, least - width))) + ((0, 0),) * (pixels.ndim - 2)
    return np.ascontiguousarray(np.pad(pixels, extra, constant_values=255) if least > min(height, width) else pixels)


def _lies_sideways(result) -> bool:
    """Whether most characters sit in boxes that stand upright: text running up or down the page."""
    upright = total = 0
    for quad, text in zip(result.boxes.tolist() if result.txts else [], result.txts or []):
        (x0, y0), (x1, y1), _, (x3, y3) = quad[:4]
        width, height = np.hypot(x1 - x0, y1 - y0), np.hypot(x3 - x0, y3 - y0)
        total += len(text)
        upright += len(text) * (height > SIDEWAYS_ASPECT * width)
    return upright > SIDEWAYS_SHARE * total


def restore_spaces(gray: np.ndarray, quad: Sequence[Sequence[float]], text: str, char_boxes: Sequence) -> str:
    """Put a space between two recognized characters that a wide blank gap on the page separates.

    `char_boxes` says where each non-blank character of `text` was read (page pixels); the gaps
    are the ink-free columns of the box straightened out, as the recognizer saw it. Spaces the
    recognizer wrote are kept. A gap counts for the two characters whose centres it falls between
    (the recognizer places a character a little after its ink). Chinese and Japanese characters are
    left alone: those scripts are written without spaces.
    """
    import cv2  # installed with rapidocr; imported here so that `availability` works without it

    chars = [char for char in text if not char.isspace()]
    if len(chars) < 2 or len(chars) != len(char_boxes):
        return text
    crop = _straighten(gray, quad)
    if crop is None:
        return text
    height, width = crop.shape
    _, ink = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    blank = np.concatenate(([False], _blank_columns((ink > 0).sum(axis=0)), [False]))
    edges = np.flatnonzero(np.diff(blank.astype(np.int8)))
    gaps = [(start + end) / 2 for start, end in zip(edges[::2], edges[1::2]) if end - start >= MIN_SPACE * height]
    if not gaps:
        return text
    # where each character's centre falls along the straightened box
    top_left, top_right = np.float32(quad[0]), np.float32(quad[1])
    length = float(np.linalg.norm(top_right - top_left)) or 1.0
    along = (top_right - top_left) / length
    centres = np.float32([np.mean(np.float32(box), axis=0) for box in char_boxes])
    positions = (centres - top_left) @ along * (width / length)
    out, index = [], -1
    for char in text:
        if not char.isspace():
            index += 1
            if (
                index > 0
                and not out[-1].isspace()
                and _may_split(chars, index)
                and any(positions[index - 1] < gap < positions[index] for gap in gaps)
            ):
                out.append(" ")
        out.append(char)
    return "".join(out)


def _blank_columns(ink_per_column: np.ndarray) -> np.ndarray:
    """Columns without ink, a speck between two blank stretches counted as blank."""
    blank = ink_per_column == 0
    edges = np.flatnonzero(np.diff(blank.astype(np.int8))) + 1
    runs = np.split(np.arange(len(blank)), edges)
    for before, run, after in zip(runs, runs[1:], runs[2:]):
        if (
            not blank[run[0]]
            and blank[before[0]]
            and blank[after[0]]
            and len(run) <= SPECK_COLUMNS
            and ink_per_column[run].max() <= SPECK_PIXELS
        ):
            blank[run] = True
    return blank


def _may_split(chars: Sequence[str], index: int) -> bool:
    """Whether a space may go between chars[index - 1] and chars[index].

    Never inside a number or an amount (".50", "14.10", "1,000", "8:13", "25/12/2018"), a code
    joined by - or / ("1851-B", "U13/X"), before a full stop or comma, after an opening or before a
    closing bracket, or beside a Chinese or Japanese character. Two digits may part: on a receipt
    "1 9.00" is a quantity and a price.
    """
    left, right = chars[index - 1], chars[index]
    before = chars[index - 2] if index >= 2 else ""
    after = chars[index + 1] if index + 1 < len(chars) else ""
    if _is_wide(left) or _is_wide(right) or left in _OPENING or right in _CLOSING or right in ".,":
        return False
    if left in ".," and right.isdigit():
        return False
    if (left == ":" and before.isdigit() and right.isdigit()) or (right == ":" and left.isdigit() and after.isdigit()):
        return False
    return not (
        (right in _JOINERS and left.isalnum() and after.isalnum())
        or (left in _JOINERS and before.isalnum() and right.isalnum())
    )


def _straighten(gray: np.ndarray, quad: Sequence[Sequence[float]]) -> np.ndarray | None:
    """The box's pixels warped to an upright rectangle; None for tiny or vertical boxes."""
    import cv2

    points = np.float32(quad)
    width = int(max(np.linalg.norm(points[0] - points[1]), np.linalg.norm(points[2] - points[3])))
    height = int(max(np.linalg.norm(points[0] - points[3]), np.linalg.norm(points[1] - points[2])))
    if width < 2 or height < 2 or height >= 1.5 * width:  # RapidOCR reads such boxes turned 90°
        return None
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    return cv2.warpPerspective(
        gray, cv2.getPerspectiveTransform(points, target), (width, height), borderMode=cv2.BORDER_REPLICATE
    )


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) == "W"
