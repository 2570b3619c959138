"""The real server process (uvicorn on 127.0.0.1) under hostile input: clear 4xx answers in
bounded time and memory, and a responsive event loop while a page is being recognised."""
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import render_page

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = {**os.environ, "OCR_THREADS": "1", "LOG_LEVEL": "WARNING", "OCR_CONCURRENCY": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(REPO / "function"),
                             "--host", "127.0.0.1", "--port", str(port), "--timeout-keep-alive", "5"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/api/v1/health", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(proc.stderr.read().decode()[-2000:])
            time.sleep(0.2)
    yield url, proc
    proc.terminate()
    proc.wait(10)


def post(url: str, path: str, body: bytes, ctype: str, timeout: float = 30) -> tuple[int, dict, float]:
    req = urllib.request.Request(url + path, data=body, headers={"content-type": ctype}, method="POST")
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read()), time.perf_counter() - t
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), time.perf_counter() - t


def multipart(data: bytes, mode: str = "page") -> tuple[bytes, str]:
    b = "----reliability"
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\n{mode}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{b}--\r\n".encode()
    return body, f"multipart/form-data; boundary={b}"


def png(a: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a, mode).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def test_hostile_images_get_answers_in_bounded_memory(server):
    url, proc = server
    rgba = np.zeros((6300, 6300, 4), np.uint8)
    rgba[100:200, 100:3000, 3] = 255       # black text-like bar drawn in alpha only
    strip = np.full((1, 100_000), 255, np.uint8)
    cases = [("6300x6300 RGBA, 150 KB", png(rgba, "RGBA"), {200}), ("1x100000 strip", png(strip), {200}),
             ("not an image", b"%PDF-1.4 hello", {415})]
    for name, data, ok in cases:
        body, ctype = multipart(data)
        status, doc, secs = post(url, "/predict", body, ctype)
        assert status in ok and secs < 30, (name, status, doc)
        assert status == 200 or doc["success"] is False
    assert _rss_peak_mb(proc.pid) < 1024


def test_oversized_body_is_refused_before_buffering(server):
    """A 50 MB body is answered from its headers: 413 before the body is sent (as a client that
    waits, or sends Expect: 100-continue, sees it), with no memory growth."""
    url, proc = server
    before = _rss_peak_mb(proc.pid)
    port = int(url.rsplit(":", 1)[1])
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /api/v1/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 52428800\r\n\r\n" + b"{" + b" " * 65536)
        reply = s.recv(65536).decode()
    assert reply.startswith("HTTP/1.1 413") and "body_too_large" in reply and time.perf_counter() - t < 10
    assert _rss_peak_mb(proc.pid) - before < 100


def test_health_answers_while_a_page_is_recognised(server):
    url, _ = server
    lines = [f"第{i}行 line number {i} of a long page 发票 ¥{i * 7}.00" for i in range(60)]
    data, _ = render_page(lines, size=26)
    body, ctype = multipart(data)
    done = {}
    t = threading.Thread(target=lambda: done.update(r=post(url, "/predict", body, ctype, timeout=60)))
    t.start()
    time.sleep(0.15)   # the page request is being recognised
    worst = 0.0
    while t.is_alive():
        t0 = time.perf_counter()
        urllib.request.urlopen(url + "/api/v1/health", timeout=5).read()
        worst = max(worst, time.perf_counter() - t0)
        time.sleep(0.05)
    t.join()
    status, doc, secs = done["r"]
    assert status == 200 and len(doc["lines"]) == 60
    assert secs > 0.3, "the page was too quick to test the event loop with"
    assert worst < 0.25, f"health took {worst * 1000:.0f} ms during a page request"
