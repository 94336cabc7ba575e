"""Prompts (and models) side by side on one document: the figures per run and the exports.

The dashboard's Compare page draws these; a script can build the same report without it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .correction import CorrectionResult
from .diff import word_changes


@dataclass(frozen=True)
class Contender:
    label: str  # what the person calls this column, e.g. "A: financial on demo"
    instruction: str  # the prompt text as it was run
    result: CorrectionResult


def numbers_touched(raw: str, corrected: str) -> int:
    """Changes that involve a digit on either side: the ones the guard exists to watch."""
    return sum(any(c.isdigit() for c in change.old + change.new) for change in word_changes(raw, corrected))


def figures(contender: Contender, ground_truth: str | None = None) -> dict:
    """The numbers a team compares: changes, refusals, numbers touched, speed, and quality if known."""
    result = contender.result
    row = {
        "run": contender.label,
        "model": result.model,
        "prompt": result.prompt,
        "changes": result.changes,
        "rejected chunks": result.rejected_chunks,
        "numbers touched": numbers_touched(result.raw, result.corrected),
        "sure repairs": f"{result.record_share:.0%}" if result.record_share is not None else "",
        "good record": result.good_record,
        "seconds": round(result.seconds, 2),
        "tokens/s": round(result.tokens_per_second, 1),
    }
    if ground_truth and ground_truth.strip():
        quality = result.quality(ground_truth)
        row |= {
            "CER before": round(quality.cer_before, 4),
            "CER after": round(quality.cer_after, 4),
            "WER before": round(quality.wer_before, 4),
            "WER after": round(quality.wer_after, 4),
        }
    return row


def comparison_json(document: str, contenders: list[Contender], winner: str | None, ground_truth: str | None) -> str:
    return json.dumps(
        {
            "document": document,
            "winner": winner,
            "ground_truth": ground_truth or None,
            "runs": [
                figures(contender, ground_truth)
                | {"instruction": contender.instruction, "result": contender.result.to_json()}
                for contender in contenders
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


def comparison_markdown(
    document: str, contenders: list[Contender], winner: str | None, ground_truth: str | None
) -> str:
    rows = [figures(contender, ground_truth) for contender in contenders]
    columns = list(rows[0]) if rows else []
    lines = [f"# Prompt comparison: {document}", ""]
    if winner:
        lines += [f"**Winner:** {winner}", ""]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[column]).replace("|", "\\|") for column in columns) + " |" for row in rows]
    for contender in contenders:
        fence = "````" if "```" in contender.result.corrected else "```"
        lines += [
            "",
            f"## {contender.label}",
            "",
            "Instruction:",
            "",
            f"> {contender.instruction.strip()}",
            "",
            f"{fence}text",
            contender.result.corrected,
            fence,
        ]
    return "\n".join(lines) + "\n"
