"""The web page (frontend/) in a real headless Chromium against the real local app.

Needs Debian's chromium + chromium-driver and pip's selenium; skipped (with the reason) without them.
Run alone with:  pytest -m browser tests/test_browser.py
Screenshots land in reports/screenshots/latest/ (page.png: desktop, page-mobile.png: phone width;
page-document*.png: a 3-page PDF).
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

import browser_helpers as bh

pytestmark = pytest.mark.browser

# Test runs write screenshots under reports/screenshots/latest/ (ignored by git); the README's
# screenshot is reports/screenshots/page.png, refreshed by hand from there when the page changes.
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", bh.REPO / "reports" / "screenshots" / "latest"))

# What the test image shows, one entry per rendered line (all characters are in the charset).
RENDERED_LINES = [
    "Slim OCR 文字识别",
    "你好，世界 Hello World",
    "今天天气很好 2024",
    "价格：128 元",
]

# Character error rate the recognised text of the rendered lines must stay under.
MAX_TEXT_CER = 0.10

WAIT_S = 30


def assert_recognised_text_matches(recognised: list[str], expected: list[str], max_cer: float = MAX_TEXT_CER) -> None:
    """The page's recognised lines against the rendered ones."""
    cer = bh.character_error_rate(recognised, expected)
    assert cer <= max_cer, f"CER {cer:.3f} > {max_cer}: got {recognised!r}, expected {expected!r}"


# ---- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app_url():
    reason = bh.browser_missing_reason()
    if reason:
        pytest.skip(reason)
    with bh.running_app() as (base_url, _log):
        yield base_url


@pytest.fixture(scope="module")
def driver(app_url):
    with bh.chromium_driver() as d:
        yield d


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """test_documents' 3 pages of real text (a held-out font), as an image-only PDF and a TIFF."""
    from test_documents import PAGES, make_text_pdf, rasterise

    d = tmp_path_factory.mktemp("scans")
    images = rasterise(make_text_pdf(d / "text.pdf"))
    pdf, tiff, single = d / "scan.pdf", d / "scan.tif", d / "one.tif"

    def copies():   # Pillow's save keeps its options on the image: each file gets fresh copies
        return [im.copy() for im in images]

    first, *rest = copies()
    first.save(pdf, save_all=True, append_images=rest, resolution=200, quality=90)
    first, *rest = copies()
    first.save(tiff, save_all=True, append_images=rest, dpi=(200, 200), compression="tiff_deflate")
    copies()[1].save(single, dpi=(200, 200), compression="tiff_deflate")
    return {"pdf": pdf, "tiff": tiff, "single_tiff": single, "pages": PAGES}


@pytest.fixture
def lines_image(tmp_path) -> Path:
    font = bh.cjk_font_path()
    if font is None:
        pytest.skip("no CJK font found (apt-get install fonts-wqy-microhei)")
    path = tmp_path / "lines.png"
    bh.render_lines_image(RENDERED_LINES, path, font)
    return path


# ---- page helpers --------------------------------------------------------------------------------
def wait_until(driver, script: str, timeout: float = WAIT_S, what: str = ""):
    """Poll a JS expression until truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or script}")
        time.sleep(0.1)


def open_page(driver, base_url: str, lang: str = "en") -> None:
    driver.set_window_size(1280, 900)
    driver.get(f"{base_url}/")
    driver.execute_script("localStorage.setItem('slimOcr.lang', arguments[0]);", lang)
    driver.refresh()
    wait_until(driver, "document.documentElement.dataset.ready === 'true'", what="the page to start")


def upload(driver, path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "file-input").send_keys(str(path))


def page_state(driver) -> str:
    return driver.execute_script("return document.body.dataset.state;")


def wait_for_outcome(driver) -> str:
    return wait_until(driver, "['done', 'error'].includes(document.body.dataset.state) "
                              "&& document.body.dataset.state", what="a result or an error")


def error_text(driver) -> str:
    return driver.execute_script("return document.getElementById('error-message').textContent.trim();")


def visible(driver, element_id: str) -> bool:
    return driver.execute_script(
        "const e = document.getElementById(arguments[0]);"
        "return !!e && !e.hidden && e.getClientRects().length > 0;", element_id)


def console_errors(driver) -> list[str]:
    """SEVERE console entries, except the network log lines for the API's expected 4xx answers."""
    entries = driver.get_log("browser")
    return [e["message"] for e in entries
            if e.get("level") == "SEVERE" and "Failed to load resource" not in e.get("message", "")]


def predict_requests(driver) -> int:
    return driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.endsWith('/predict')).length;")


# Records the form fields (all but the file) of every request the page sends, in window.__sent;
# ``fail`` makes the request with those fields answer an error without reaching the server, and
# ``delay_ms`` holds every request back (so the stop button can be pressed mid-document).
RECORD_REQUESTS = """
const [fail, delayMs] = [arguments[0], arguments[1]];
window.__sent = [];
window.__pageFetch = window.__pageFetch || window.fetch;   // called again: replaces the last wrapper
const real = window.__pageFetch;
window.fetch = (url, opts) => {
  const fields = opts && opts.body instanceof FormData
    ? Object.fromEntries([...opts.body].filter(([k]) => k !== 'image')) : null;
  if (fields) window.__sent.push(fields);
  if (fields && fail && JSON.stringify(fields) === JSON.stringify(fail)) {
    return Promise.resolve(new Response(JSON.stringify({success: false, error: {code: 'busy', message: 'busy (test)'}}),
                                        {status: 503, headers: {'content-type': 'application/json'}}));
  }
  return new Promise(r => setTimeout(r, delayMs)).then(() => real(url, opts));
};
"""


def record_requests(driver, fail: dict | None = None, delay_ms: int = 0) -> None:
    driver.execute_script(RECORD_REQUESTS, fail, delay_ms)


def sent_fields(driver) -> list[dict]:
    return driver.execute_script("return window.__sent;")


def page_results(driver) -> list[dict]:
    """The per-page results list: [{page, status, text}] in page order."""
    return driver.execute_script(
        "return [...document.querySelectorAll('#page-results li')].map(li => ({page: Number(li.dataset.page), "
        "status: li.dataset.status, text: li.querySelector('.page-text').textContent}));")


def drawn_thumbnails(driver) -> list[int]:
    """Natural widths of the thumbnail strip's images (0: not drawn)."""
    return driver.execute_script(
        "return [...document.querySelectorAll('#thumbs li img')].map(i => i.complete ? i.naturalWidth : 0);")


def allow_downloads(driver, folder: Path) -> None:
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})


def wait_for_download(path: Path, timeout: float = WAIT_S) -> bytes:
    deadline = time.monotonic() + timeout
    while not path.exists() or path.with_name(path.name + ".crdownload").exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} was not downloaded: {sorted(p.name for p in path.parent.iterdir())}")
        time.sleep(0.1)
    return path.read_bytes()


def assert_pages_match(texts: list[str], pages: list[list[str]]) -> None:
    assert len(texts) == len(pages), texts
    for text, want in zip(texts, pages):
        assert_recognised_text_matches([ln for ln in text.split("\n") if ln.strip()], want)


def screenshots_fit_a_phone(driver, name: str) -> None:
    """Desktop and phone screenshots ``<name>.png`` / ``<name>-mobile.png``; on a phone-width
    screen nothing overflows sideways, and the console stayed clean."""
    bh.screenshot_full_page(driver, SCREENSHOTS / f"{name}.png", 1280)
    bh.screenshot_full_page(driver, SCREENSHOTS / f"{name}-mobile.png", 390, mobile=True)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert overflow <= 0, f"page is {overflow}px wider than a phone screen"
    assert console_errors(driver) == []


# ---- tests -----------------------------------------------------------------------------------------
def test_page_loads_without_external_resources(driver, app_url):
    open_page(driver, app_url)
    assert page_state(driver) == "idle"
    assert visible(driver, "dropzone")
    assert "Slim OCR" in driver.title
    # The footer shows the model from /api/v1/health.
    wait_until(driver, "document.getElementById('health').dataset.health === 'ok'", what="health check")
    # Nothing is loaded from anywhere but the page's own origin.
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    foreign = [u for u in urls if not (u.startswith(app_url) or u.startswith(("blob:", "data:")))]
    assert not foreign, f"external resources loaded: {foreign}"
    assert any(u.endswith("/config.js") for u in urls)
    assert console_errors(driver) == []


def test_upload_shows_boxes_and_lines(driver, app_url, lines_image):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    open_page(driver, app_url)
    # Hold the first request back a little so the busy state can be observed.
    driver.execute_script("window.__realFetch = window.fetch; window.fetch = (...a) => "
                          "new Promise(r => setTimeout(r, 700)).then(() => window.__realFetch(...a));")
    upload(driver, lines_image)
    wait_until(driver, "document.body.dataset.state === 'busy'", timeout=5, what="the busy state")
    assert driver.find_element(By.ID, "recognise-btn").get_property("disabled")
    assert driver.find_element(By.ID, "result-card").get_attribute("aria-busy") == "true"
    assert wait_for_outcome(driver) == "done", f"recognition failed: {error_text(driver)!r}"

    # "Recognise again" re-sends the same image (now without the delay: honest timings).
    driver.execute_script("window.fetch = window.__realFetch;")
    driver.find_element(By.ID, "recognise-btn").click()
    outcome = wait_for_outcome(driver)
    assert outcome == "done", f"recognition failed: {error_text(driver)!r}"

    n_boxes = int(driver.execute_script("return document.getElementById('preview').dataset.boxes || '0';"))
    items = driver.find_elements(By.CSS_SELECTOR, "#lines li")
    assert n_boxes == len(RENDERED_LINES), f"{n_boxes} boxes for {len(RENDERED_LINES)} rendered lines"
    assert len(items) == n_boxes

    text = driver.find_element(By.ID, "result-text").get_property("value")
    assert text.strip(), "recognised text is empty"
    recognised = text.split("\n")
    assert len(recognised) == n_boxes, f"one text line per box expected, got {recognised!r}"
    assert_recognised_text_matches(recognised, RENDERED_LINES)

    # Timings and confidences are shown.
    for stat in ("stat-server", "stat-roundtrip"):
        assert "ms" in driver.find_element(By.ID, stat).text or " s" in driver.find_element(By.ID, stat).text
    assert driver.find_element(By.ID, "stat-lines").text == str(n_boxes)
    confs = [li.find_element(By.CSS_SELECTOR, ".conf-val").text for li in items]
    assert all(c.endswith("%") for c in confs), confs
    assert not driver.find_element(By.ID, "recognise-btn").get_property("disabled")

    # Clicking a box on the canvas selects its line in the list ...
    canvas = driver.find_element(By.ID, "preview")
    target = 2
    box = json.loads(items[target].get_attribute("data-box"))
    rect = driver.execute_script("const r = arguments[0].getBoundingClientRect();"
                                 "return {w: r.width, h: r.height};", canvas)
    img_w = float(canvas.get_attribute("data-image-width"))
    img_h = float(canvas.get_attribute("data-image-height"))
    cx = sum(p[0] for p in box) / 4 * rect["w"] / img_w
    cy = sum(p[1] for p in box) / 4 * rect["h"] / img_h
    ActionChains(driver).move_to_element_with_offset(
        canvas, int(cx - rect["w"] / 2), int(cy - rect["h"] / 2)).click().perform()
    wait_until(driver, f"document.querySelector('#lines li[data-index=\"{target}\"]')"
                       ".classList.contains('is-selected')", timeout=5, what="the clicked line to be selected")
    assert canvas.get_attribute("data-selected") == str(target)

    # ... and clicking a line highlights its box.
    items[0].find_element(By.TAG_NAME, "button").click()
    wait_until(driver, "document.getElementById('preview').dataset.selected === '0'", timeout=5,
               what="the box of line 1 to be selected")
    assert items[0].find_element(By.TAG_NAME, "button").get_attribute("aria-pressed") == "true"

    # Keyboard: arrow keys on the focused preview move between lines.
    from selenium.webdriver.common.keys import Keys

    canvas.send_keys(Keys.ARROW_DOWN)
    wait_until(driver, "document.getElementById('preview').dataset.selected === '1'", timeout=5,
               what="ArrowDown to select line 2")
    assert "is-selected" in items[1].get_attribute("class")

    ActionChains(driver).move_to_element(driver.find_element(By.CLASS_NAME, "brand")).perform()
    screenshots_fit_a_phone(driver, "page")


def test_exif_rotated_photo_boxes_line_up(driver, app_url, lines_image, tmp_path):
    """A JPEG stored sideways with EXIF orientation 6: preview and boxes both use the upright image."""
    from PIL import Image
    from selenium.webdriver.common.by import By

    photo = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    upright = Image.open(lines_image).convert("RGB")
    upright.rotate(90, expand=True).save(photo, quality=95, exif=exif.tobytes())

    open_page(driver, app_url)
    upload(driver, photo)
    assert wait_for_outcome(driver) == "done", error_text(driver)
    canvas = driver.find_element(By.ID, "preview")
    w, h = int(canvas.get_attribute("data-image-width")), int(canvas.get_attribute("data-image-height"))
    assert (w, h) == upright.size
    items = driver.find_elements(By.CSS_SELECTOR, "#lines li")
    assert len(items) == len(RENDERED_LINES)
    for li in items:
        box = json.loads(li.get_attribute("data-box"))
        assert all(-2 <= x <= w + 2 and -2 <= y <= h + 2 for x, y in box), (box, w, h)
        assert box[1][0] - box[0][0] > box[3][1] - box[0][1], f"line box is not horizontal: {box}"


def test_renamed_text_file_shows_server_error(driver, app_url, tmp_path):
    fake = tmp_path / "not-really.png"
    fake.write_text("This is a text file pretending to be a PNG image.\n" * 20)
    open_page(driver, app_url)
    before = predict_requests(driver)
    upload(driver, fake)
    assert wait_for_outcome(driver) == "error"
    assert predict_requests(driver) == before + 1, "the file should have been sent to the API"
    assert visible(driver, "error-box")
    message = error_text(driver)
    assert message, "the error state shows no message"
    assert "image" in message.lower()
    # The recognise button is usable again (to retry) and no results are shown.
    assert not driver.execute_script("return document.getElementById('recognise-btn').disabled;")
    assert driver.execute_script("return document.querySelectorAll('#lines li').length;") == 0
    assert console_errors(driver) == []


def test_plain_text_file_is_rejected_before_upload(driver, app_url, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes\n")
    open_page(driver, app_url)
    before = predict_requests(driver)
    upload(driver, notes)
    assert wait_for_outcome(driver) == "error"
    assert visible(driver, "error-box")
    message = error_text(driver)
    assert "PNG" in message and "JPEG" in message, message
    assert predict_requests(driver) == before, "a rejected file must not be uploaded"
    assert visible(driver, "dropzone"), "after a rejected file the page offers to pick another"
    assert console_errors(driver) == []


def test_oversized_image_is_refused(driver, app_url, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (7 * 1024 * 1024))
    open_page(driver, app_url)
    before = predict_requests(driver)
    upload(driver, big)
    assert wait_for_outcome(driver) == "error"
    assert "6\u00a0MB" in error_text(driver) or "6 MB" in error_text(driver), error_text(driver)
    assert predict_requests(driver) == before, "an oversized file must not be uploaded"

    # Past the client-side check (raised limit), the server's 413 is shown in the same words.
    open_page(driver, app_url)
    driver.execute_script("window.SLIM_OCR_CONFIG.maxUploadMB = 20;")
    upload(driver, big)
    assert wait_for_outcome(driver) == "error"
    assert predict_requests(driver) == before + 1
    message = error_text(driver)
    assert "too large" in message and "MB" in message, message
    assert "image_too_large" in driver.find_element("id", "error-details").text


DISPATCH_IMAGE_EVENT = """
const [kind, name, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const c = document.createElement('canvas');
c.width = 480; c.height = 120;
const g = c.getContext('2d');
g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
g.fillStyle = '#000'; g.font = '48px sans-serif'; g.fillText('Hello 123', 30, 80);
c.toBlob((blob) => {
  const dt = new DataTransfer();
  dt.items.add(new File([blob], name, {type: 'image/png'}));
  if (kind === 'drop') {
    window.dispatchEvent(new DragEvent('dragenter', {dataTransfer: dt, bubbles: true, cancelable: true}));
    const overlay = !document.getElementById('drop-overlay').hidden;
    document.body.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    done(overlay);
  } else {
    document.body.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
    done(true);
  }
}, 'image/png');
"""


@pytest.mark.parametrize("kind", ["drop", "paste"])
def test_drop_and_paste_start_recognition(driver, app_url, kind):
    open_page(driver, app_url)
    before = predict_requests(driver)
    overlay_shown = driver.execute_async_script(DISPATCH_IMAGE_EVENT, kind, f"{kind}.png")
    assert overlay_shown, "dragging a file over the page shows the drop overlay"
    assert wait_for_outcome(driver) == "done", error_text(driver)
    assert predict_requests(driver) == before + 1
    assert driver.execute_script("return document.getElementById('file-meta').textContent;").startswith(kind)
    assert driver.execute_script("return document.getElementById('drop-overlay').hidden;")


def test_language_toggle_is_remembered(driver, app_url):
    from selenium.webdriver.common.by import By

    open_page(driver, app_url, lang="en")
    assert driver.find_element(By.ID, "result-heading").text.lower() == "result"
    driver.find_element(By.ID, "lang-toggle").click()
    assert driver.execute_script("return document.documentElement.lang;") == "zh-CN"
    assert driver.find_element(By.ID, "result-heading").text == "识别结果"
    assert driver.execute_script("return localStorage.getItem('slimOcr.lang');") == "zh"
    driver.refresh()
    wait_until(driver, "document.documentElement.dataset.ready === 'true'")
    assert driver.find_element(By.ID, "result-heading").text == "识别结果"
    driver.find_element(By.ID, "lang-toggle").click()
    assert driver.execute_script("return localStorage.getItem('slimOcr.lang');") == "en"


# ---- documents: PDF and multi-page TIFF, page by page ---------------------------------------------
def test_pdf_pages_thumbnails_results_and_downloads(driver, app_url, scans, tmp_path):
    import pypdfium2
    from selenium.webdriver.common.by import By

    from test_documents import pdftotext

    pages = scans["pages"]
    open_page(driver, app_url)
    allow_downloads(driver, tmp_path)
    record_requests(driver)
    upload(driver, scans["pdf"])
    assert wait_for_outcome(driver) == "done", error_text(driver)

    # thumbnails first (no OCR), then one request per page
    assert sent_fields(driver) == [{"format": "thumbnails", "pages": "1"}, {"format": "thumbnails", "pages": "2-3"},
                                   {"pages": "1"}, {"pages": "2"}, {"pages": "3"}]
    thumbs = drawn_thumbnails(driver)
    assert len(thumbs) == len(pages) and all(thumbs), thumbs
    results = page_results(driver)
    assert [(r["page"], r["status"]) for r in results] == [(n, "done") for n in (1, 2, 3)]
    assert_pages_match([r["text"] for r in results], pages)
    assert "3 pages" in driver.find_element(By.ID, "status-text").text
    assert "3 pages" in driver.find_element(By.ID, "file-meta").text

    # a page's thumbnail shows it: its lines, its text, its boxes in the page's pixels
    driver.find_element(By.CSS_SELECTOR, '#thumbs li[data-page="2"] button').click()
    wait_until(driver, "document.getElementById('page-heading').textContent.includes('2')", timeout=5,
               what="page 2 to be shown")
    assert driver.find_element(By.ID, "result-text").get_property("value") == results[1]["text"]
    assert len(driver.find_elements(By.CSS_SELECTOR, "#lines li")) == len(pages[1])
    canvas = driver.find_element(By.ID, "preview")
    assert canvas.get_attribute("data-boxes") == str(len(pages[1]))
    assert (canvas.get_attribute("data-image-width"), canvas.get_attribute("data-image-height")) == ("1654", "2339")

    # all pages' text as .txt (pages separated by form feeds) and the searchable PDF
    driver.find_element(By.ID, "doc-txt-btn").click()
    txt = wait_for_download(tmp_path / "scan.txt").decode("utf-8")
    assert txt.split("\f") == [r["text"] for r in results]
    driver.find_element(By.ID, "pdf-btn").click()
    pdf = wait_for_download(tmp_path / "scan.searchable.pdf")
    assert pdf.startswith(b"%PDF-") and sent_fields(driver)[-1] == {"format": "pdf"}
    assert len(pypdfium2.PdfDocument(pdf)) == len(pages)
    if shutil.which("pdftotext"):
        assert_pages_match([pdftotext(tmp_path / "scan.searchable.pdf", n) for n in (1, 2, 3)], pages)

    screenshots_fit_a_phone(driver, "page-document")


def test_a_failed_page_keeps_the_others_and_stop_ends_the_reading(driver, app_url, scans, tmp_path):
    from selenium.webdriver.common.by import By

    pages = scans["pages"]
    open_page(driver, app_url)
    allow_downloads(driver, tmp_path)
    record_requests(driver, fail={"pages": "2"})
    upload(driver, scans["pdf"])
    assert wait_for_outcome(driver) == "done", error_text(driver)
    results = page_results(driver)
    assert [r["status"] for r in results] == ["done", "error", "done"]
    assert "busy" in results[1]["text"].lower()
    assert_pages_match([results[0]["text"], results[2]["text"]], [pages[0], pages[2]])
    assert "1 failed" in driver.find_element(By.ID, "status-text").text
    driver.find_element(By.ID, "doc-txt-btn").click()                 # the pages read, in order
    assert wait_for_download(tmp_path / "scan.txt").decode("utf-8").split("\f") == \
        [results[0]["text"], results[2]["text"]]
    driver.find_element(By.ID, "pdf-btn").click()                     # ... and the PDF of those pages
    wait_for_download(tmp_path / "scan.searchable.pdf")
    assert sent_fields(driver)[-1] == {"format": "pdf", "pages": "1,3"}

    # Stop while page 2 is being read: page 1 stays, the rest is not read; "Recognise again" reads all
    record_requests(driver, delay_ms=1500)
    driver.find_element(By.ID, "recognise-btn").click()
    wait_until(driver, "document.querySelector('#page-results li[data-page=\"2\"]').dataset.status === 'busy'",
               what="page 2 to be read")
    assert visible(driver, "stop-btn")
    driver.find_element(By.ID, "stop-btn").click()
    assert wait_for_outcome(driver) == "done"
    assert [r["status"] for r in page_results(driver)] == ["done", "stopped", "stopped"]
    assert "Stopped" in driver.find_element(By.ID, "status-text").text
    assert not visible(driver, "stop-btn")
    time.sleep(1.0)
    assert sent_fields(driver) == [{"pages": "1"}, {"pages": "2"}], "no page is requested after stop"
    record_requests(driver)
    driver.find_element(By.ID, "recognise-btn").click()
    assert wait_for_outcome(driver) == "done"
    wait_until(driver, "document.body.dataset.state === 'done' && [...document.querySelectorAll('#page-results li')]"
                       ".every(li => li.dataset.status === 'done')", what="every page to be read again")
    assert console_errors(driver) == []


def test_multipage_tiff_is_read_page_by_page_and_a_one_page_tiff_as_an_image(driver, app_url, scans):
    from selenium.webdriver.common.by import By

    pages = scans["pages"]
    open_page(driver, app_url, lang="zh")
    upload(driver, scans["tiff"])
    assert wait_for_outcome(driver) == "done", error_text(driver)
    thumbs = drawn_thumbnails(driver)                  # Chromium cannot draw TIFF: the server did
    assert len(thumbs) == len(pages) and all(thumbs), thumbs
    results = page_results(driver)
    assert [r["status"] for r in results] == ["done"] * 3
    assert_pages_match([r["text"] for r in results], pages)
    # the document's own words are translated too
    assert driver.execute_script("return document.getElementById('stop-btn').textContent.trim();") == "停止"
    assert driver.execute_script("return document.getElementById('page-results').textContent;").startswith("第 1 页")

    record_requests(driver)
    upload(driver, scans["single_tiff"])
    assert wait_for_outcome(driver) == "done", error_text(driver)
    assert sent_fields(driver) == [{"format": "thumbnails", "pages": "1"}, {}]   # then OCR as an image
    assert not visible(driver, "thumbs") and not visible(driver, "page-results")
    text = driver.find_element(By.ID, "result-text").get_property("value")
    assert_recognised_text_matches(text.split("\n"), pages[1])
    assert console_errors(driver) == []
