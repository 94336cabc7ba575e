"""Reading-order line grouping on crafted boxes (no OCR model needed)."""

import math

from ocr_pipeline.ocr.base import OcrLine
from ocr_pipeline.ocr.layout import group_into_lines


def box(text, left, top, right, bottom, confidence=None):
    return OcrLine(text, (left, top, right, bottom), confidence)


def tilted(text, left, top, width, height, slope):
    """A box of `width` x `height` whose top-left is at (left, top), tilted by `slope` (dy/dx):
    its OcrLine (with the axis-aligned bounds an engine reports) and its four corners."""
    corners = [
        (left, top),
        (left + width, top + slope * width),
        (left + width, top + slope * width + height),
        (left, top + height),
    ]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    return OcrLine(text, (min(xs), min(ys), max(xs), max(ys))), corners


def texts(lines):
    return [line.text for line in lines]


def test_empty_input():
    assert group_into_lines([]) == []
    assert group_into_lines([], quads=[]) == []


def test_two_boxes_on_one_row_merge_left_to_right():
    lines = group_into_lines([box("$12.50", 300, 102, 360, 122, 0.8), box("TOTAL", 10, 100, 80, 120, 0.6)])
    assert texts(lines) == ["TOTAL $12.50"]
    assert lines[0].box == (10, 100, 360, 122)
    assert math.isclose(lines[0].confidence, 0.7)


def test_rows_come_top_to_bottom():
    boxes = [
        box("CHANGE", 10, 200, 90, 220),
        box("SHOP NAME", 10, 0, 150, 20),
        box("0.50", 300, 201, 350, 221),
        box("TOTAL", 10, 100, 80, 120),
        box("12.50", 300, 99, 360, 119),
    ]
    assert texts(group_into_lines(boxes)) == ["SHOP NAME", "TOTAL 12.50", "CHANGE 0.50"]


def test_adjacent_rows_stay_apart():
    # rows 22 px apart with 20 px tall boxes overlap by 2 px: not the same row
    boxes = [box("A", 10, 0, 40, 20), box("B", 100, 18, 130, 38), box("C", 10, 36, 40, 56)]
    assert texts(group_into_lines(boxes)) == ["A", "B", "C"]


def test_slightly_skewed_row_still_merges():
    # the right-hand box sits 6 px lower (a 1° skew across 300 px): still one row
    boxes = [box("SUBTOTAL", 10, 100, 110, 120), box("9.00", 300, 106, 350, 126), box("TAX", 10, 140, 60, 160)]
    assert texts(group_into_lines(boxes)) == ["SUBTOTAL 9.00", "TAX"]


def test_tilted_page_groups_rows_along_the_tilt():
    # A page tilted by 0.06 (3.4°): each row's right end is 27 px lower than its left end,
    # more than a row's 20 px height, and each phrase's axis-aligned box is twice as tall as its text.
    slope, rows = 0.06, []
    for index, (label, amount) in enumerate([("TOTAL", "12.50"), ("CASH", "20.00"), ("CHANGE", "7.50")]):
        top = 100 + 30 * index
        rows.append(tilted(label, 10, top, 120, 20, slope))
        rows.append(tilted(amount, 400, top + slope * 390, 60, 20, slope))
    boxes, quads = [line for line, _ in rows], [corners for _, corners in rows]
    assert texts(group_into_lines(boxes, quads)) == ["TOTAL 12.50", "CASH 20.00", "CHANGE 7.50"]
    # From the axis-aligned boxes alone the rows cannot be told apart.
    assert texts(group_into_lines(boxes)) != ["TOTAL 12.50", "CASH 20.00", "CHANGE 7.50"]


def test_a_rotated_stamp_does_not_tilt_the_rows_around_it():
    level = [tilted(f"ROW{i}", 10, 30 * i, 200, 20, 0.0) for i in range(5)]
    level += [tilted(f"{i}.00", 300, 30 * i, 50, 20, 0.0) for i in range(5)]
    stamp = tilted("PAID", 150, 40, 150, 30, 0.5)
    boxes = [line for line, _ in [*level, stamp]]
    quads = [corners for _, corners in [*level, stamp]]
    lines = texts(group_into_lines(boxes, quads))
    for i in range(5):
        assert any(line.startswith(f"ROW{i}") and line.endswith(f"{i}.00") for line in lines), lines


def test_a_short_box_with_jittery_corners_keeps_its_row():
    # As on a real receipt: the detector tilted `TotalQty:` by 9 px over its 108 px on a level page;
    # taken at face value, that tilt would put the `51.42` at its right into a row of its own.
    level = [tilted(f"ITEM{i}", 30, 800 + 30 * i, 230, 24, 0.0) for i in range(5)]
    level += [tilted(f"{i}.00", 520, 800 + 30 * i, 60, 24, 0.0) for i in range(5)]
    row = [tilted("TotalQty:", 162, 960, 108, 29, 0.08), tilted("51.42", 515, 960, 68, 27, 0.0)]
    pairs = [*level, *row]
    lines = texts(group_into_lines([line for line, _ in pairs], [corners for _, corners in pairs]))
    assert lines[-1] == "TotalQty: 51.42"


def test_boxes_of_very_different_heights():
    # a big-print total beside small print on the same row merges ...
    same_row = group_into_lines([box("TOTAL", 10, 100, 150, 140), box("RM", 200, 112, 230, 128)])
    assert texts(same_row) == ["TOTAL RM"]
    # ... while a tall logo above small rows stays a row of its own, and the rows under it stay apart.
    boxes = [
        box("LOGO", 100, 0, 300, 80),
        box("SHOP", 10, 90, 80, 106),
        box("TEL 123", 10, 110, 120, 126),
        box("tiny", 200, 112, 230, 120),
    ]
    assert texts(group_into_lines(boxes)) == ["LOGO", "SHOP", "TEL 123 tiny"]


def test_lines_without_quads_keep_their_order_and_boxes():
    lines = group_into_lines([box("only", 5, 6, 50, 26, None)])
    assert lines == [OcrLine("only", (5, 6, 50, 26), None)]


# Word-space repair: where the recognizer runs words together, the page's blank gaps between
# characters put the spaces back (ocr_pipeline.ocr.rapid.restore_spaces).


def _rendered(text, size=30, family="DejaVuSans"):
    """`text` drawn on a white strip, with where each non-blank character lies (as the recognizer reports)."""
    from PIL import Image, ImageDraw

    from ocr_pipeline import samples

    face = samples.font(size, family=family)
    width, height = int(face.getlength(text)) + 20, int(1.12 * size)  # as tight as PP-OCRv6's boxes
    image = Image.new("L", (width, height), 255)
    ImageDraw.Draw(image).text((10, 1), text, fill=0, font=face)
    char_boxes = []
    for i, char in enumerate(text):
        start, end = 10 + face.getlength(text[:i]), 10 + face.getlength(text[: i + 1])
        if char != " ":
            char_boxes.append([[start, 0], [end, 0], [end, height], [start, height]])
    quad = [[0, 0], [width, 0], [width, height], [0, height]]
    return image, quad, char_boxes


def _repair(drawn, read, specks=(), family="DejaVuSans"):
    """What restore_spaces makes of recognized text `read` for a page showing `drawn` (the
    recognizer dropped spaces: each other character of `read` sits where it was drawn), with
    one-pixel specks of dust at the given x positions."""
    import numpy as np

    from ocr_pipeline.ocr.rapid import restore_spaces

    image, quad, boxes = _rendered(drawn, family=family)
    page = np.asarray(image).copy()
    for x in specks:
        page[page.shape[0] // 2, x] = 0
    return restore_spaces(page, quad, read, boxes)


def _blots(read, spacing=60):
    """A strip with one glyph-sized blot per character of `read`, `spacing` px apart: every pair
    of neighbours has a gap wide enough for a space."""
    import numpy as np

    from ocr_pipeline.ocr.rapid import restore_spaces

    width = 20 + spacing * len(read)
    page = np.full((40, width), 255, np.uint8)
    boxes = []
    for i in range(len(read)):
        left = 10 + spacing * i
        page[8:32, left : left + 30] = 0
        boxes.append([[left, 0], [left + 30, 0], [left + 30, 40], [left, 40]])
    return restore_spaces(page, [[0, 0], [width, 0], [width, 40], [0, 40]], read, boxes)


def test_spaces_come_back_where_the_page_has_a_gap():
    assert _repair("SDN BHD", "SDNBHD") == "SDN BHD"
    assert _repair("Document No : TD01167104", "DocumentNo:TD01167104") == "Document No : TD01167104"
    # SROIE 503 as the old recognizer read it, in a receipt printer's monospaced font
    mono = "DejaVuSansMono"
    spaced = "THANK YOU FOR YOUR PATRONAGE"
    assert _repair(spaced, "THANKYOU FORYOURPATRONAGE", family=mono) == spaced
    assert _repair("PLEASE COME AGAIN.", "PLEASECOMEAGAIN.", family=mono) == "PLEASE COME AGAIN."


def test_no_space_is_added_inside_words_or_kept_spaces_doubled():
    assert _repair("RETURNABLE", "RETURNABLE") == "RETURNABLE"
    assert _repair("ILLICIT MILLIMETRE", "ILLICIT MILLIMETRE", family="DejaVuSansMono") == "ILLICIT MILLIMETRE"
    assert _repair("12.50", "12.50") == "12.50"
    assert _repair("THANK YOU", "THANK YOU") == "THANK YOU"


def test_receipt_columns_part_and_their_amounts_stay_whole():
    mono = "DejaVuSansMono"
    assert _repair("1 X 3.70   11.10", "1X3.7011.10", family=mono) == "1 X 3.70 11.10"
    assert _repair("25/12/2018 11:13", "25/12/201811:13", family=mono) == "25/12/2018 11:13"


def test_a_speck_of_dust_in_a_gap_does_not_glue_the_words():
    _, _, boxes = _rendered("SUPPLY SDN")
    gap_middle = int((boxes[5][1][0] + boxes[6][0][0]) / 2)  # between the Y and the S
    assert _repair("SUPPLY SDN", "SUPPLYSDN", specks=[gap_middle]) == "SUPPLY SDN"


def test_no_spaces_between_chinese_characters():
    assert _blots("AB") == "A B"
    assert _blots("物出") == "物出"


def test_characters_without_positions_are_left_as_read():
    import numpy as np

    from ocr_pipeline.ocr.rapid import restore_spaces

    page = np.full((40, 200), 255, np.uint8)
    page[8:32, 10:40] = 0
    page[8:32, 100:130] = 0
    quad = [[0, 0], [200, 0], [200, 40], [0, 40]]
    assert restore_spaces(page, quad, "AB", [[[10, 0], [40, 0], [40, 40], [10, 40]]]) == "AB"


def test_no_space_splits_a_number_an_amount_or_a_code_however_wide_the_gaps():
    # SROIE 010: a receipt printer's wide "." once made "TOTAL RM 14.10" read as "14. 10"
    for read in ("4.1", ".5", "1,0", "5/1", "8:1", "3-3", "1-B", "3/X", "4,", "O."):
        assert _blots(read) == read
    assert _blots("(A)") == "(A)"


def test_two_figures_or_a_label_and_its_colon_may_part():
    assert _blots("41") == "4 1"  # a quantity beside a price
    assert _blots("A:1") == "A : 1"  # "TEL : 03", as receipts print it
    assert _blots("A(") == "A ("
