"""Soak: many corrections in a row through the dashboard's own code path, memory after each.

Runs the Correct page in `streamlit.testing.v1.AppTest` (the page, the sidebar, the shared model
cache, the gate, the diff and the review table, as a browser session would run them): upload a
generated invoice, Run OCR once, then press Correct N times. Prints the process RSS after each
correction and the growth from the fifth to the last (the first few load the model, the OCR
engine and the page's imports).

    .venv/bin/python benchmarks/soak_dashboard.py [--runs 50] [--model demo] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def soak(runs: int, model: str) -> dict:
    import psutil
    from streamlit.testing.v1 import AppTest

    from ocr_pipeline import samples
    from ocr_pipeline.bench.common import machine_info

    os.environ["OCR_PIPELINE_HOME"] = tempfile.mkdtemp(prefix="soak-home-")
    os.environ["OCR_MODEL"] = model
    process = psutil.Process()
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600).run()
    invoice = samples.to_bytes(samples.add_scan_noise(samples.render_lines(samples.INVOICE_LINES)))
    app.file_uploader[0].set_value(("invoice.png", invoice, "image/png")).run()
    app.button(key="correct:run_ocr").click().run()
    rows = []
    for index in range(runs):
        started = time.perf_counter()
        app.button(key="correct:correct").click().run()
        if app.exception:
            raise RuntimeError(f"run {index + 1}: {[element.value for element in app.exception]}")
        rows.append(
            {
                "run": index + 1,
                "seconds": round(time.perf_counter() - started, 2),
                "rss_mib": round(process.memory_info().rss / 2**20, 1),
            }
        )
        print(f"run {index + 1:3}: {rows[-1]['seconds']:6.2f} s, RSS {rows[-1]['rss_mib']:8.1f} MiB", file=sys.stderr)
    base = rows[min(4, len(rows) - 1)]["rss_mib"]
    return {
        "kind": "soak",
        "model": model,
        "runs": rows,
        "rss_after_fifth_mib": base,
        "rss_last_mib": rows[-1]["rss_mib"],
        "growth_after_fifth": round((rows[-1]["rss_mib"] - base) / base, 4),
        "machine": machine_info(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--model", default="demo")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = soak(args.runs, args.model)
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"{args.runs} corrections with {args.model}: RSS {report['rss_after_fifth_mib']} MiB after the fifth, "
            f"{report['rss_last_mib']} MiB after the last: growth {report['growth_after_fifth']:+.1%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
