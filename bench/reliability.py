"""Reliability of the real server process (uvicorn on 127.0.0.1) under hostile input and load.

    python -m bench.reliability [--seconds 30] [--configs default,malloc2,noarena]

For each server configuration (environment variables of the server process):
* hostile inputs -> status, seconds, the server's peak RSS after each;
* a 50 MB body -> refused from its headers (status, seconds, RSS growth);
* ``/api/v1/health`` latency while a 60-line page is being recognised;
* load: ``wrk`` at concurrency 16 then 32, ``--seconds`` each, POSTing a 20-line page as JSON;
  failed requests and the RSS after each round (target: 0 failures, RSS after the second round
  <= 1.25x after the first).
Prints a table and writes ``reports/reliability.json``. Needs ``wrk`` (Debian) for the load part.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
CONFIGS = {   # server environments compared
    "default": {},
    "malloc2": {"MALLOC_ARENA_MAX": "2"},
    "session_arena": {"MALLOC_ARENA_MAX": "2", "OCR_ORT_ARENA": "session"},
    "noarena": {"MALLOC_ARENA_MAX": "2", "OCR_ORT_ARENA": "0"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_mb(pid: int, field: str = "VmHWM") -> float:
    """VmHWM: peak RSS; VmRSS: current RSS (MB)."""
    m = re.search(rf"{field}:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) / 1024 if m else float("nan")


@contextlib.contextmanager
def serve(env: dict | None = None, threads: int = 1, concurrency: int | None = None):
    """The API server in its own process; yields (base URL, pid)."""
    port = free_port()
    full = {**os.environ, "OCR_THREADS": str(threads), "LOG_LEVEL": "WARNING", **(env or {})}
    if concurrency:
        full["OCR_CONCURRENCY"] = str(concurrency)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(REPO / "function"),
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                             "--timeout-keep-alive", "5"], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/api/v1/health", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"server did not start: {proc.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def post(url: str, path: str, body: bytes, ctype: str, timeout: float = 60) -> tuple[int, dict, float]:
    req = urllib.request.Request(url + path, data=body, headers={"content-type": ctype}, method="POST")
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read()), time.perf_counter() - t
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), time.perf_counter() - t


def multipart(data: bytes, mode: str = "page", filename: str = "x.png") -> tuple[bytes, str]:
    b = "----slimocrbench"
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\n{mode}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{b}--\r\n".encode()
    return body, f"multipart/form-data; boundary={b}"


def png(a: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a, mode).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def page(lines: list[str], size: int = 26) -> bytes:
    f = ImageFont.truetype(FONT, size)
    w = max(int(f.getlength(t)) for t in lines) + 80
    im = Image.new("L", (w, len(lines) * int(size * 1.8) + 80), 255)
    d = ImageDraw.Draw(im)
    for i, t in enumerate(lines):
        d.text((40, 40 + i * int(size * 1.8)), t, font=f, fill=0)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def page_lines(n: int) -> list[str]:
    return [f"第{i}行 line number {i} of a long page 发票 ¥{i * 7}.00" for i in range(n)]


def hostile_cases() -> list[tuple[str, bytes, set[int]]]:
    rgba = np.zeros((6300, 6300, 4), np.uint8)
    rgba[100:200, 100:3000, 3] = 255            # black text-like bar drawn in alpha only
    rgba16 = np.zeros((4000, 4000, 4), np.uint16)
    rgba16[100:200, 100:3000, 3] = 65535
    import cv2  # noqa: PLC0415
    ok, png16 = cv2.imencode(".png", rgba16)
    strips = [(1, 100_000), (1, 3300), (2, 7000), (4, 20_000), (10, 40_000), (100_000, 1)]
    out = [("6300x6300 RGBA PNG", png(rgba, "RGBA"), {200}), ("4000x4000 16-bit RGBA PNG", png16.tobytes(), {200})]
    out += [(f"{h}x{w} strip", png(np.full((h, w), 255, np.uint8)), {200}) for h, w in strips]
    out += [("PDF header, no PDF", b"%PDF-1.4 not really", {400}), ("GIF", b"GIF89a" + bytes(40), {415}), ("truncated PNG", png(np.zeros((50, 50), np.uint8))[:60], {400}),
            ("100 MP declared", png(np.zeros((10000, 10000), np.uint8) + 255), {413})]
    return out


def hostile(url: str, pid: int) -> list[dict]:
    rows = []
    for name, data, ok in hostile_cases():
        body, ctype = multipart(data)
        status, doc, secs = post(url, "/predict", body, ctype)
        rows.append({"case": name, "bytes": len(data), "status": status, "expected": sorted(ok), "ok": status in ok,
                     "seconds": round(secs, 2), "peak_rss_mb": round(proc_mb(pid), 1),
                     "code": None if status == 200 else doc.get("error", {}).get("code")})
    return rows


def big_body(url: str, pid: int, mb: int = 50) -> dict:
    before = proc_mb(pid, "VmRSS")
    port = int(url.rsplit(":", 1)[1])
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /api/v1/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {mb << 20}\r\n\r\n".encode() + b"{" + b" " * 65536)
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) < _content_length(reply):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        reply = reply.decode(errors="replace")
    return {"status": int(reply.split()[1]), "seconds": round(time.perf_counter() - t, 3),
            "rss_growth_mb": round(proc_mb(pid, "VmRSS") - before, 1), "code_in_reply": "body_too_large" in reply}


def _content_length(head: bytes) -> int:
    m = re.search(rb"content-length:\s*(\d+)", head, re.I)
    return int(m.group(1)) if m else 0


def health_during_page(url: str, n_lines: int = 60) -> dict:
    body, ctype = multipart(page(page_lines(n_lines)))
    done: dict = {}
    t = threading.Thread(target=lambda: done.update(r=post(url, "/predict", body, ctype)))
    t.start()
    time.sleep(0.15)
    worst, n = 0.0, 0
    while t.is_alive():
        t0 = time.perf_counter()
        urllib.request.urlopen(url + "/api/v1/health", timeout=5).read()
        worst, n = max(worst, time.perf_counter() - t0), n + 1
        time.sleep(0.05)
    t.join()
    status, doc, secs = done["r"]
    return {"page_status": status, "page_lines": len(doc.get("lines", [])), "page_seconds": round(secs, 2),
            "health_checks": n, "health_worst_ms": round(worst * 1000, 1)}


def load(url: str, pid: int, rounds=((16, 30), (32, 30)), n_lines: int = 20) -> dict | None:
    if not shutil.which("wrk"):
        return None
    body = json.dumps({"image_base64": base64.b64encode(page(page_lines(n_lines))).decode(), "mode": "page"})
    out = {"rounds": [], "rss_start_mb": round(proc_mb(pid, "VmRSS"), 1)}
    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "post.lua"
        script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                          f"wrk.body = {json.dumps(body)}\n"
                          'done = function(summary, latency, requests)\n'
                          '  io.write(string.format("JSON {\\"non2xx\\": %d, \\"errors\\": %d, \\"requests\\": %d, '
                          '\\"p50\\": %d, \\"p99\\": %d}\\n", summary.errors.status, summary.errors.connect + '
                          'summary.errors.read + summary.errors.write + summary.errors.timeout, summary.requests, '
                          'latency:percentile(50), latency:percentile(99)))\nend\n')
        for conc, secs in rounds:
            res = subprocess.run(["wrk", "-t", "2", "-c", str(conc), "-d", f"{secs}s", "--timeout", "30s",
                                  "-s", str(script), url + "/api/v1/ocr"], capture_output=True, text=True, check=True)
            stats = json.loads(res.stdout.split("JSON ", 1)[1].splitlines()[0])
            out["rounds"].append({"concurrency": conc, "seconds": secs, "requests": stats["requests"],
                                  "failed": stats["non2xx"] + stats["errors"], "p50_ms": stats["p50"] / 1000,
                                  "p99_ms": stats["p99"] / 1000, "rss_after_mb": round(proc_mb(pid, "VmRSS"), 1)})
    r = out["rounds"]
    out["rss_ratio_second_vs_first"] = round(r[-1]["rss_after_mb"] / r[0]["rss_after_mb"], 3)
    out["peak_rss_mb"] = round(proc_mb(pid), 1)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=30, help="seconds per load round")
    ap.add_argument("--configs", default="default,malloc2,noarena")
    ap.add_argument("--threads", type=int, default=1, help="ORT threads per recognition in the server")
    ap.add_argument("--out", default=str(REPO / "reports" / "reliability.json"))
    a = ap.parse_args(argv)
    results = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(), "configs": {}}
    for name in a.configs.split(","):
        with serve(CONFIGS[name], threads=a.threads) as (url, pid):
            res = {"env": CONFIGS[name], "hostile": hostile(url, pid), "big_body": big_body(url, pid),
                   "health_during_page": health_during_page(url)}
            res["load"] = load(url, pid, ((16, a.seconds), (32, a.seconds))) if a.seconds else None
        results["configs"][name] = res
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nSlim OCR reliability -- {results['date']}, {results['cpus']} CPUs\n")
    first = next(iter(results["configs"].values()))
    print("| hostile input | bytes | status | s | server peak RSS MB |\n|---|---:|---:|---:|---:|")
    for r in first["hostile"]:
        print(f"| {r['case']} | {r['bytes']:,} | {r['status']}{'' if r['ok'] else ' (unexpected)'} | {r['seconds']} "
              f"| {r['peak_rss_mb']} |")
    b, h = first["big_body"], first["health_during_page"]
    print(f"\n50 MB body: {b['status']} in {b['seconds']} s, RSS +{b['rss_growth_mb']} MB; health worst "
          f"{h['health_worst_ms']} ms over {h['health_checks']} checks during a {h['page_lines']}-line page "
          f"({h['page_seconds']} s)\n")
    print("| config | round | requests | failed | p50 ms | p99 ms | RSS after MB | RSS 2nd / 1st |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, res in results["configs"].items():
        if not res["load"]:
            continue
        for r in res["load"]["rounds"]:
            print(f"| {name} | c={r['concurrency']}, {r['seconds']} s | {r['requests']} | {r['failed']} | {r['p50_ms']:.0f} "
                  f"| {r['p99_ms']:.0f} | {r['rss_after_mb']} | {res['load']['rss_ratio_second_vs_first']} |")
    return results


if __name__ == "__main__":
    main()
