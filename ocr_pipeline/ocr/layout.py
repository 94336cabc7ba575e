"""Reading order for engines that return loose word or phrase boxes.

Boxes that overlap vertically form a line, sorted left to right; lines are read top to
bottom. On receipts this turns `TOTAL` and `$12.50` (two boxes) into one line `TOTAL $12.50`.
"""

from __future__ import annotations

from statistics import mean

from .base import OcrLine

MIN_VERTICAL_OVERLAP = 0.5  # share of the smaller box's height


def _vertical_overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    smaller = min(a[3] - a[1], b[3] - b[1])
    return overlap / smaller if smaller > 0 else 0.0


def group_into_lines(boxes: list[OcrLine]) -> list[OcrLine]:
    """Merge boxes (each with a `box`) into reading-order lines."""
    lines: list[list[OcrLine]] = []
    for item in sorted(boxes, key=lambda b: (b.box[1] + b.box[3]) / 2):
        # compare with the line's last-added box, so gently skewed lines still chain together
        best = max(lines, key=lambda line: _vertical_overlap(line[-1].box, item.box), default=None)
        if best is not None and _vertical_overlap(best[-1].box, item.box) >= MIN_VERTICAL_OVERLAP:
            best.append(item)
        else:
            lines.append([item])
    merged = []
    for members in lines:
        members.sort(key=lambda b: b.box[0])
        box = (
            min(b.box[0] for b in members),
            min(b.box[1] for b in members),
            max(b.box[2] for b in members),
            max(b.box[3] for b in members),
        )
        scores = [b.confidence for b in members if b.confidence is not None]
        merged.append(OcrLine(" ".join(b.text for b in members), box, mean(scores) if scores else None))
    merged.sort(key=lambda line: (line.box[1] + line.box[3]) / 2)
    return merged
