"""Reports for people: a readable text form of every benchmark, and per-document rows for a
table, a chart or a CSV file."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from typing import Any, Sequence

from .common import MIB, TextScores


def document_rows(report) -> list[dict]:
    """One row per document (per engine for OCR), flat, for a table, a chart or a CSV file.

    Correction rows carry "CER OCR", "CER unguarded" and "CER guarded": before and after.
    """
    kind = report.kind
    rows = []
    if kind == "ocr":
        for score in report.documents:
            figures = score.scores or TextScores(*[None] * 4)
            rows.append({"document": score.document, "engine": score.engine, "pages": score.pages,
                         "CER": figures.cer, "CER any order": score.cer_any_order, "WER": figures.wer,
                         "CER exact": figures.cer_exact, "WER exact": figures.wer_exact,
                         "glued words": len(score.glued_words)}
                        | {"seconds": round(sum(score.seconds_per_page), 3), "CPU seconds": score.cpu_seconds}
                        | {f"{name} found": found for name, found in score.keys_found.items()}
                        | {"error": score.error})
    elif kind == "correct":
        for item in report.items:
            rows.append({"document": item.id, "CER OCR": item.ocr.cer}
                        | {f"CER {name}": scores.cer for name, scores in item.outputs.items()}
                        | {"WER OCR": item.ocr.wer} | {f"WER {name}": scores.wer for name, scores in item.outputs.items()}
                        | {"numbers": item.numbers} | {f"numbers kept {name}": kept for name, kept in item.numbers_kept.items()}
                        | {"new tokens": item.new_tokens, "seconds": item.seconds})
    elif kind == "replay":
        for model in report.models:
            rows.append({"model": model.model, "rows": model.rows, "CER OCR": model.ocr_cer}
                        | {"CER unguarded": model.unguarded.cer, "CER guarded": model.guarded.cer,
                           "cut unguarded": model.unguarded.cut, "cut guarded": model.guarded.cut,
                           "worse unguarded": model.unguarded.worse, "worse guarded": model.guarded.worse,
                           "better guarded": model.guarded.better, "unchanged guarded": model.guarded.unchanged,
                           "preference unguarded": model.unguarded.preference,
                           "preference guarded": model.guarded.preference})
    elif kind == "pipeline":
        for item in report.items:
            rows.append({"document": item.document, "CER OCR": item.ocr.cer if item.ocr else None}
                        | {f"CER {name}": scores.cer for name, scores in item.outputs.items()}
                        | {f"{name} kept": found["guarded"] if found["ocr"] else None for name, found in item.keys.items()}
                        | {"OCR seconds": item.ocr_seconds, "correction seconds": item.correction_seconds,
                           "error": item.error})
    return rows


def format_table(rows: list[dict]) -> str:
    """A plain text table; numbers right-aligned, None shown as '-'."""
    if not rows:
        return "(no rows)"
    columns = list(dict.fromkeys(column for row in rows for column in row))

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)

    cells = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    numeric = [all(isinstance(row.get(column), (int, float)) or row.get(column) is None for row in rows) for column in columns]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if right else v.ljust(w) for v, w, right in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(values) for values in cells)])


def _scores_row(label: str, scores: TextScores | None) -> dict:
    return {"text": label} | (asdict(scores) if scores else {})


def machine_line(report) -> str:
    machine = report.machine
    gpu = machine["gpu"]["name"] if machine.get("gpu") else "no GPU"
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    start, end = report.load_average
    return (f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, {gpu}; "
            f"load average {start} -> {end}\nversions: {versions}")


def _percent(share: float) -> str:
    return f"{share:+.1%}"


def _mib(snapshot: dict | None, key: str = "rss_bytes") -> float | None:
    value = (snapshot or {}).get(key)
    return None if value is None else round(value / MIB, 1)


def _median_or_none(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def render_report(report) -> str:
    """The readable form of any benchmark report."""
    kind = report.kind
    lines = []
    if kind == "ocr":
        lines.append(f"OCR on {report.folder}: {len(report.documents) // max(len(report.engines), 1)} documents, {report.seconds} s")
        lines.append(format_table([
            {"engine": s.engine, "ran as": s.ran_as, "docs": s.documents, "failed": s.failed}
            | (asdict(s.scores) if s.scores else {}) | {"cer any order": s.cer_any_order, "glued words": s.glued_words}
            | {f"{name} found": f"{found}/{total}" for name, (found, total) in s.keys_found.items()}
            | {"s/page (median)": s.median_seconds_per_page, "time vs plain": report.time_ratio(s.engine),
               "CPU s/page": s.median_cpu_seconds_per_page,
               "CPU vs plain": report.time_ratio(s.engine, "median_cpu_seconds_per_page"),
               "start s": s.start_seconds, "start +MiB": s.start_rss_added_mib, "peak RSS MiB": s.peak_rss_mib}
            for s in report.engines
        ]))
        models = "; ".join(f"{s.engine}: {s.model}" for s in report.engines if s.model)
        if models:
            lines.append(f"models: {models}")
        lines += [f"{score.document} ({score.engine}): {score.error}" for score in report.documents if score.error]
    elif kind == "correct":
        lines.append(f"Correction of {len(report.items)} pairs from {report.source}: model {report.model}, prompt "
                     f"{report.prompt}, guard {report.guard}; {report.seconds} s, load {report.load_seconds} s, "
                     f"{report.tokens_per_second} tokens/s")
        lines.append(format_table([_scores_row("ocr", report.ocr)] + [
            _scores_row(s.output, s.scores) | {"worse": s.worse, "better": s.better, "unchanged": s.unchanged,
                                               "numbers kept": s.numbers_kept}
            for s in report.outputs
        ]))
        for summary in report.outputs:
            if summary.items_worse:
                lines.append(f"{summary.output} worse than the OCR text on: {', '.join(summary.items_worse[:20])}"
                             + (" ..." if len(summary.items_worse) > 20 else ""))
    elif kind == "replay":
        lines.append(f"Replay of {report.rows} rows from {report.source} through the {report.policy} guard: corpus CER "
                     f"(case and spacing counted), OCR text {report.ocr_cer:.4f}; "
                     f"guard {report.guard_seconds} s in all")
        lines.append(format_table([
            {"model": m.model, "rows": m.rows, "CER unguarded": m.unguarded.cer,
             "cut unguarded": _percent(m.unguarded.cut),
             "worse unguarded": m.unguarded.worse, "CER guarded": m.guarded.cer, "cut guarded": _percent(m.guarded.cut),
             "worse guarded": m.guarded.worse, "better": m.guarded.better, "unchanged": m.guarded.unchanged,
             "preference": m.guarded.preference, "changes applied": m.changes_applied,
             "refused": m.changes_refused}
            for m in report.models
        ]))
        for m in report.models:
            if m.guarded.rows_worse:
                lines.append(f"{m.model}, guarded, worse than the OCR text on: {', '.join(m.guarded.rows_worse[:20])}"
                             + (" ..." if len(m.guarded.rows_worse) > 20 else ""))
    elif kind == "adversarial":
        lines.append(f"Harmful changes from {report.texts} texts ({report.source}) through the {report.policy} guard: "
                     "each alone, and hidden among right repairs")
        lines.append(format_table([
            {"category": t.category, "refused": f"{t.refused}/{t.cases}",
             "hidden among repairs, refused": f"{t.hidden_refused}/{t.hidden_cases}"}
            for t in report.categories
        ]))
        lines.append(f"plain repairs taken: {report.plain_repairs_taken}/{report.plain_repairs}; "
                     f"made worse: {report.plain_repairs_worse}")
        lines += [f"let through ({t.category}): {candidate!r}" for t in report.categories for candidate in t.let_through]
    elif kind == "pipeline":
        good = [item for item in report.items if not item.error]
        lines.append(f"Pipeline on {report.folder}: {len(good)} of {len(report.items)} documents, engine "
                     f"{report.engine}, model {report.model}, prompt {report.prompt}, guard {report.guard}; {report.seconds} s")
        lines.append(format_table([_scores_row("ocr", report.ocr)]
                                  + [_scores_row(name, scores) for name, scores in report.outputs.items()]))
        lines.append(format_table([
            {"field": name, "output": output, "kept": kept, "found in OCR": found}
            for name, outputs in report.keys_kept.items() for output, (kept, found) in outputs.items()
        ]))
        lines.append("key fields lost after guarded correction: " + (", ".join(report.keys_lost) or "none"))
        lines += [f"{item.document}: {item.error}" for item in report.items if item.error]
    elif kind == "release":
        lines.append(f"Load/release of {report.model}, {len(report.cycles)} cycles; before: "
                     f"RSS {_mib(report.before)} MiB")
        lines.append(format_table([
            {"cycle": c.cycle, "load s": c.load_seconds, "RSS after load MiB": _mib(c.after_load),
             "RSS after release MiB": _mib(c.after_release),
             "CUDA alloc after load MiB": _mib(c.after_load, "cuda_allocated_bytes"),
             "CUDA alloc after release MiB": _mib(c.after_release, "cuda_allocated_bytes")}
            for c in report.cycles
        ]))
        lines.append(f"RSS growth: {report.rss_growth:+.2%} over before the first load, "
                     f"{report.rss_growth_after_first:+.2%} over after the first release; CUDA returned: "
                     f"{'n/a (no CUDA)' if report.cuda_returned is None else report.cuda_returned}")
    elif kind == "overhead":
        lines.append(f"Overhead of correct_text over plain generate: model {report.model}, {report.chunks} chunks, "
                     f"prompt {report.prompt}, pipeline batching {report.batching}")
        lines.append(format_table([
            {"run": "pipeline", "seconds per repeat": " ".join(map(str, report.pipeline_seconds)),
             "total s": round(sum(report.pipeline_seconds), 3), "new tokens": report.pipeline_new_tokens},
            {"run": "plain generate", "seconds per repeat": " ".join(map(str, report.plain_seconds)),
             "total s": round(sum(report.plain_seconds), 3), "new tokens": report.plain_new_tokens},
        ]))
        lines.append(f"ratio (pipeline / plain): {report.ratio}")
    elif kind == "backends":
        lines.append(f"Backends on {report.model}: {report.chunks} chunks ({report.text_characters} characters), prompt "
                     f"{report.prompt}, {report.repeats} repeats; server: {report.server or 'not measured'}")
        lines.append(format_table([
            {"backend": r.label, "load s": r.load_seconds, "+MiB": r.memory_added_mib,
             "s/document (median)": _median_or_none(r.seconds), "tokens/s": r.tokens_per_second,
             "decode tokens/s": r.decode_tokens_per_second,
             "chunks/s": r.chunks_per_second, "tokens/s vs transformers": r.tokens_per_second_ratio,
             "speed-up vs transformers": r.speedup, "new tokens": r.new_tokens or None, "error": r.error or None}
            for r in report.runs
        ]))
        if report.server_vs_llamacpp is not None:
            lines.append(f"server at concurrency 1 / llama.cpp in process, seconds per document: {report.server_vs_llamacpp}")
        if report.throughput:
            lines.append(format_table([
                {"concurrent requests": t.concurrency, "requests": t.requests, "seconds": " ".join(map(str, t.seconds)),
                 "tokens/s": t.tokens_per_second, "requests/s": t.requests_per_second}
                for t in report.throughput
            ]))
        lines += [f"{r.label}: {r.description}" for r in report.runs if r.description]
    lines.append(machine_line(report))
    return "\n".join(lines)
