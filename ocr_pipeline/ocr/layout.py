"""Reading order for engines that return loose word or phrase boxes.

Boxes on the same text row form a line, sorted left to right; lines are read top to bottom.
On receipts this turns `TOTAL` and `$12.50` (two boxes) into one line `TOTAL $12.50`.

Scans and phone photos are rarely level. The axis-aligned box of a phrase tilted by 3° is
about twice as tall as its text, so it "overlaps" the rows above and below and rows get
merged (on tilted SROIE receipts this cost 0.1 CER). Engines that return rotated boxes
(RapidOCR's four corners) therefore pass them as `quads`: each box is then measured along
the page's local tilt, and two boxes share a row when their text bands overlap where they
meet. Without quads the boxes are taken as level.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean, median
from collections.abc import Sequence

from .base import OcrLine

MIN_VERTICAL_OVERLAP = 0.5  # share of the smaller box's text height
SLOPE_NEIGHBOURHOOD = 5  # text heights above and below that set a box's local tilt

Point = Sequence[float]


@dataclass
class _Placed:
    """A box's geometry: centre, width, text height, tilt (dy/dx)."""

    line: OcrLine
    cx: float
    cy: float
    width: float
    height: float
    slope: float = 0.0

    def y_at(self, x: float) -> float:
        """Height of the box's centre line at x, extended past the box along its tilt."""
        return self.cy + self.slope * (x - self.cx)


def _place(line: OcrLine, quad: Sequence[Point] | None) -> _Placed:
    if quad is None:
        left, top, right, bottom = line.box
        return _Placed(line, (left + right) / 2, (top + bottom) / 2, max(right - left, 1), max(bottom - top, 1))
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = quad  # top-left, top-right, bottom-right, bottom-left
    width = max((x1 - x0 + x2 - x3) / 2, 1.0)
    return _Placed(
        line,
        (x0 + x1 + x2 + x3) / 4,
        (y0 + y1 + y2 + y3) / 4,
        width,
        max((y3 - y0 + y2 - y1) / 2, 1.0),  # measured across the text, not the tilted box's bounds
        (y1 - y0 + y2 - y3) / 2 / width,
    )


def _weighted_median(values: list[tuple[float, float]]) -> float:
    values = sorted(values)
    half, total = sum(weight for _, weight in values) / 2, 0.0
    for value, weight in values:
        total += weight
        if total >= half:
            return value
    return 0.0


def _local_slopes(placed: list[_Placed]) -> None:
    """Give each box the tilt of its neighbourhood: the width-weighted median of nearby boxes' tilts.

    A short box's corners are a pixel or two apart, so its own tilt is noise, and a rotated
    stamp has a tilt of its own; the median ignores both, yet follows a page that curls.
    """
    reach = SLOPE_NEIGHBOURHOOD * median(p.height for p in placed)
    own = [p.slope for p in placed]
    for p in placed:
        p.slope = _weighted_median([(s, q.width) for s, q in zip(own, placed) if abs(q.cy - p.cy) <= reach])


def _row_overlap(a: _Placed, b: _Placed) -> float:
    """Overlap of two boxes' text bands where they meet, as a share of the smaller height."""
    x = (a.cx + b.cx) / 2
    ya, yb = a.y_at(x), b.y_at(x)
    overlap = min(ya + a.height / 2, yb + b.height / 2) - max(ya - a.height / 2, yb - b.height / 2)
    return overlap / min(a.height, b.height)


def group_into_lines(boxes: list[OcrLine], quads: Sequence[Sequence[Point]] | None = None) -> list[OcrLine]:
    """Merge boxes (each with a `box`) into reading-order lines.

    `quads`, if given, holds each box's four corners (clockwise from top-left) in page pixels.
    """
    if not boxes:
        return []
    placed = [_place(line, quads[i] if quads is not None else None) for i, line in enumerate(boxes)]
    if quads is not None:
        _local_slopes(placed)
    rows: list[list[_Placed]] = []
    for item in sorted(placed, key=lambda p: p.cy):
        # Compare with each row's member nearest in x: local, so a long or curled row still chains.
        best, best_overlap = None, MIN_VERTICAL_OVERLAP
        for row in rows:
            overlap = _row_overlap(min(row, key=lambda member: abs(member.cx - item.cx)), item)
            if overlap >= best_overlap:
                best, best_overlap = row, overlap
        if best is None:
            rows.append([item])
        else:
            best.append(item)
    # Order rows where they cross the page's middle, so that on a tilted page a row holding
    # only a right-hand price is not read before the row above it.
    middle = median(p.cx for p in placed)
    rows.sort(key=lambda row: mean(member.y_at(middle) for member in row))
    return [_merge(sorted((member.line for member in row), key=lambda line: line.box[0])) for row in rows]


def _merge(members: list[OcrLine]) -> OcrLine:
    box = (
        min(b.box[0] for b in members),
        min(b.box[1] for b in members),
        max(b.box[2] for b in members),
        max(b.box[3] for b in members),
    )
    scores = [b.confidence for b in members if b.confidence is not None]
    return OcrLine(" ".join(b.text for b in members), box, mean(scores) if scores else None)
