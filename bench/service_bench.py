"""Service benchmark: cold start, in-process latency (one line, 20-line page), load via wrk.

    python -m bench.service_bench [--load-seconds 15] [--concurrency 8]

Prints a table; every figure is measured in this run on this machine. Targets (issue 4):
cold start <= 1.0 s, one line p50 <= 15 ms, 20-line page <= 150 ms.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.reliability import proc_mb, serve

REPO = Path(__file__).resolve().parents[1]
FUNCTION = REPO / "function"
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
PAGE_TEXT = ["发票号码：12345678 开票日期：2026年11月24日", "购买方名称：上海某某科技有限公司", "纳税人识别号：91310000MA1FL0X23Q",
             "Item Description Qty Amount", "办公用品 A4 打印纸 10 ¥356.00", "技术服务费 Technical service 1 ¥12,800.00"]


def render(lines: list[str], size: int = 28) -> bytes:
    font = ImageFont.truetype(FONT, size)
    width = max(int(font.getlength(t)) for t in lines) + 80
    step = int(size * 1.7)
    im = Image.new("L", (width, step * len(lines) + 60), 255)
    d = ImageDraw.Draw(im)
    for i, t in enumerate(lines):
        d.text((40, 30 + i * step), t, font=font, fill=0)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def pct(xs, q):
    return float(np.percentile(np.asarray(xs), q))


def cold_start(runs: int = 5) -> list[float]:
    """Fresh interpreter: import the app (loads the ONNX model) -- what a Lambda cold start pays."""
    code = "import time; t=time.perf_counter(); import app; print(time.perf_counter()-t)"
    out = []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", code], cwd=FUNCTION, capture_output=True, text=True, check=True,
                           env={**os.environ, "LOG_LEVEL": "WARNING"})
        out.append(float(r.stdout.strip().splitlines()[-1]))
    return out


def in_process(n: int = 50) -> dict:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from slim_ocr.pipeline import OcrEngine

    engine = OcrEngine()
    line = render(["发票号码：12345678 Total ¥1,234.56"], size=24)
    page = render([PAGE_TEXT[i % len(PAGE_TEXT)] for i in range(20)], size=24)
    res = {}
    for name, data, mode in (("line", line, "auto"), ("page20", page, "page")):
        engine.run_bytes(data, mode)  # warm-up
        times, parts = [], []
        for _ in range(n):
            t = time.perf_counter()
            r = engine.run_bytes(data, mode)
            times.append((time.perf_counter() - t) * 1000)
            parts.append(r.timings)
        res[name] = {"p50": pct(times, 50), "p95": pct(times, 95), "lines": len(r.lines),
                     **{k: statistics.median(p[k] for p in parts) for k in parts[0]}}
    return res


def load_test(seconds: int, concurrency: int, segments: int = 3) -> dict | None:
    if not shutil.which("wrk"):
        print("wrk not installed (apt-get install wrk): load test skipped")
        return None
    # the server in its own process, as bench/reliability.py starts it (OCR_THREADS=0: the default)
    with serve(threads=0) as (url, pid):
        body = json.dumps({"image_base64": base64.b64encode(render(["发票号码：12345678 Total ¥1,234.56"], 24)).decode()})
        with tempfile.TemporaryDirectory() as d:
            script = Path(d) / "post.lua"
            script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                              f"wrk.body = {json.dumps(body)}\n"
                              'done = function(summary, latency, requests)\n'
                              '  io.write(string.format("JSON {\\"non2xx\\": %d, \\"errors\\": %d}\\n", '
                              'summary.errors.status, summary.errors.connect + summary.errors.read + '
                              'summary.errors.write + summary.errors.timeout))\nend\n')
            # Several back-to-back wrk runs: after the first (warm-up: arenas, caches) the server's
            # RSS must stay flat, and no request may fail.
            outs, rss = [], [proc_mb(pid, "VmRSS")]
            for _ in range(segments):
                outs.append(subprocess.run(["wrk", "-t", "2", "-c", str(concurrency), "-d", f"{seconds}s", "--latency",
                                            "-s", str(script), url + "/api/v1/ocr"],
                                           capture_output=True, text=True, check=True).stdout)
                rss.append(proc_mb(pid, "VmRSS"))
        out = outs[-1]
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        lat = {q: re.search(rf"\s{q}%\s+([\d.]+)(us|ms|s)", out) for q in ("50", "90", "99")}
        unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
        lat = {q: float(m.group(1)) * unit[m.group(2)] for q, m in lat.items() if m}
        errs = [json.loads(o.split("JSON ", 1)[1].splitlines()[0]) for o in outs]
        growth = (rss[-1] - rss[1]) / rss[1] if len(rss) > 2 else 0.0
        return {"rps": rps, "p50": lat.get("50"), "p90": lat.get("90"), "p99": lat.get("99"),
                "non2xx": sum(e["non2xx"] for e in errs), "errors": sum(e["errors"] for e in errs),
                "rss_mb": rss, "rss_growth_after_warmup": growth, "concurrency": concurrency,
                "seconds": seconds * segments,
                "ok": sum(e["non2xx"] + e["errors"] for e in errs) == 0 and growth < 0.10}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--load-seconds", type=int, default=10, help="seconds per wrk run (3 runs)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--out", default=str(REPO / "reports" / "service_bench.json"))
    a = ap.parse_args()
    cs = cold_start()
    ip = in_process(a.n)
    lt = load_test(a.load_seconds, a.concurrency) if a.load_seconds > 0 else None
    print(f"\nSlim OCR service benchmark -- {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print(f"| metric | value | target |\n|---|---|---|")
    print(f"| cold start (import + model load), median of {len(cs)} | {statistics.median(cs) * 1000:.0f} ms | <= 1000 ms |")
    print(f"| one line, in-process p50 / p95 | {ip['line']['p50']:.1f} / {ip['line']['p95']:.1f} ms | p50 <= 15 ms |")
    print(f"| 20-line page, in-process p50 / p95 | {ip['page20']['p50']:.1f} / {ip['page20']['p95']:.1f} ms "
          f"(detect {ip['page20']['detect_ms']:.1f}, recognise {ip['page20']['recognize_ms']:.1f}; {ip['page20']['lines']} lines found) | <= 150 ms |")
    if lt:
        print(f"| load: wrk c={lt['concurrency']}, {lt['seconds']} s in all, one-line JSON (last third) | {lt['rps']:.1f} req/s, "
              f"p50 {lt['p50']:.1f} ms, p99 {lt['p99']:.1f} ms | |")
        print(f"| failed requests (non-2xx + socket errors) | {lt['non2xx'] + lt['errors']} | 0 |")
        print(f"| server RSS: start, after each third | {' / '.join(f'{x:.0f}' for x in lt['rss_mb'])} MB "
              f"(growth after warm-up {lt['rss_growth_after_warmup']:+.1%}) | < +10% |")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"cold_start_s": cs, "in_process": ip, "load": lt,
                                       "date": time.strftime("%Y-%m-%d %H:%M")}, indent=2))
    if lt is not None and not lt["ok"]:
        raise SystemExit("load test FAILED: failed requests or memory growth")


if __name__ == "__main__":
    main()
