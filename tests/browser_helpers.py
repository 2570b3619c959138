"""Helpers for the headless-browser test of the web page (tests/test_browser.py).

Chromium and chromedriver come from Debian (``apt-get install chromium chromium-driver``);
Selenium is given both paths explicitly so Selenium Manager never tries to download anything.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
from pruning.dataengine.html_pages import CHROMEDRIVER, CHROMIUM, chromium_missing_reason

CJK_FONTS = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--force-device-scale-factor=1",
    "--lang=en-US",
]


# ---- the app under test ------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(base_url: str, timeout: float, proc: subprocess.Popen | None = None) -> dict:
    """Poll GET /api/v1/health until it answers 200; returns its JSON."""
    import json

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"app exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/api/v1/health", timeout=2) as r:
                if r.status == 200:
                    return json.loads(r.read().decode())
        except (urllib.error.URLError, ConnectionError, OSError) as e:  # not up yet
            last = e
        time.sleep(0.25)
    raise TimeoutError(f"{base_url}/api/v1/health did not answer within {timeout:.0f}s ({last})")


@contextlib.contextmanager
def running_app(timeout: float = 45.0):
    """Start the local app (uvicorn app:app --app-dir function) on a free port; always stopped.

    Yields (base_url, log_path). Set SLIM_OCR_BASE_URL to test an already running server instead.
    """
    external = os.environ.get("SLIM_OCR_BASE_URL", "").rstrip("/")
    if external:
        wait_for_health(external, timeout)
        yield external, None
        return
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="slim-ocr-app-", suffix=".log", delete=False)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("SLIM_OCR_BASE_URL", None)
    cmd = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", "function",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    try:
        try:
            wait_for_health(base_url, timeout, proc)
        except Exception as e:
            log.flush()
            tail = Path(log.name).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the app did not start: {e}\n--- app log ---\n{tail}") from e
        yield base_url, Path(log.name)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
        with contextlib.suppress(OSError):
            os.unlink(log.name)


# ---- the browser ---------------------------------------------------------------------------
def browser_missing_reason() -> str | None:
    """Why the browser test can't run here, or None when it can (the data engine's own check)."""
    return chromium_missing_reason()


@contextlib.contextmanager
def chromium_driver(width: int = 1280, height: int = 900):
    """A headless Debian Chromium driven through the Debian chromedriver (no downloads)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="slim-ocr-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Explicit driver path: Selenium Manager is not consulted, so nothing is downloaded.
    service = Service(executable_path=str(CHROMEDRIVER), log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        with contextlib.suppress(Exception):
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot_full_page(driver, path: Path, width: int, mobile: bool = False) -> None:
    """Save a PNG of the whole page laid out at `width` CSS px (DevTools device emulation)."""
    import base64

    path.parent.mkdir(parents=True, exist_ok=True)
    viewport_h = 844 if mobile else 900
    metrics = {"width": width, "height": viewport_h, "deviceScaleFactor": 1, "mobile": mobile}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        driver.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.3)  # layout + canvas redraw at the new size
        height = driver.execute_script(
            "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight);")
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": min(int(height), 6000), "scale": 1}})
        path.write_bytes(base64.b64decode(shot["data"]))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# ---- test images -----------------------------------------------------------------------------
def cjk_font_path() -> str | None:
    for p in CJK_FONTS:
        if Path(p).exists():
            return p
    return None


def render_lines_image(lines: list[str], path: Path, font_path: str, font_size: int = 44,
                       line_gap: int = 34, margin: int = 48) -> tuple[int, int]:
    """Black text lines on white, well separated; returns (width, height)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(font_path, font_size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    boxes = [probe.textbbox((0, 0), line, font=font) for line in lines]
    width = max(b[2] - b[0] for b in boxes) + 2 * margin
    line_h = max(b[3] - b[1] for b in boxes)
    height = len(lines) * line_h + (len(lines) - 1) * line_gap + 2 * margin
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    y = margin
    for line, b in zip(lines, boxes):
        draw.text((margin - b[0], y - b[1]), line, font=font, fill="black")
        y += line_h + line_gap
    img.save(path)
    return width, height


# ---- text checks -------------------------------------------------------------------------------
def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def character_error_rate(recognised: list[str], expected: list[str]) -> float:
    """CER of the recognised lines against the rendered ones (line by line, whitespace ignored)."""
    norm = lambda s: "".join(s.split())  # noqa: E731
    errors = sum(edit_distance(norm(r), norm(e)) for r, e in zip(recognised, expected))
    errors += sum(len(norm(e)) for e in expected[len(recognised):])
    errors += sum(len(norm(r)) for r in recognised[len(expected):])
    total = max(1, sum(len(norm(e)) for e in expected))
    return errors / total
