"""The real server process (uvicorn on 127.0.0.1) under hostile input and load: clear answers in
bounded time and memory, a responsive event loop while a page is recognised, flat memory under
load (``bench/reliability.py`` has the helpers and measures the same things at full length)."""
import shutil

import pytest

from bench import reliability as R

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    # the environment the service ships with (`make run`, template.yaml: MALLOC_ARENA_MAX=2); without
    # it glibc's per-thread arenas let RSS reach 1.25 GB under this load with the DB detector, and
    # with an ORT arena per session (OCR_ORT_ARENA=session) the default models reached 1.04-1.11 GB
    with R.serve(env=R.CONFIGS["malloc2"], concurrency=2) as (url, pid):
        yield url, pid


def test_hostile_images_get_answers_in_bounded_memory(server):
    url, pid = server
    for name, data, ok in R.hostile_cases():
        body, ctype = R.multipart(data)
        status, doc, secs = R.post(url, "/predict", body, ctype)
        assert status in ok and secs < 30, (name, status, doc)
        assert status == 200 or (doc["success"] is False and doc["error"]["code"])
    assert R.proc_mb(pid) < 1024


def test_oversized_body_is_refused_before_buffering(server):
    """A 50 MB body is answered from its headers: 413 before the body is sent (as a client that
    waits, or sends Expect: 100-continue, sees it), with no memory growth."""
    res = R.big_body(*server)
    assert res["status"] == 413 and res["code_in_reply"] and res["seconds"] < 10 and res["rss_growth_mb"] < 100


def test_health_answers_while_a_page_is_recognised(server):
    res = R.health_during_page(server[0])
    assert res["page_status"] == 200 and res["page_lines"] == 60
    assert res["page_seconds"] > 0.3, "the page was too quick to test the event loop with"
    assert res["health_worst_ms"] < 250, res


@pytest.mark.skipif(not shutil.which("wrk"), reason="wrk not installed (apt-get install wrk)")
def test_load_at_16_then_32_clients_has_no_failures_and_flat_memory(server):
    url, pid = server
    res = R.load(url, pid, rounds=((16, 6), (32, 6)))
    assert all(r["failed"] == 0 and r["requests"] > 0 for r in res["rounds"]), res
    assert res["rss_ratio_second_vs_first"] <= 1.25 and res["peak_rss_mb"] < 1024, res


def test_a_body_of_nested_lists_does_not_stall_the_server(server):
    """Just under the body limit, JSON that takes long to parse: parsed in a worker thread (422),
    while health checks keep answering."""
    import threading
    import time
    import urllib.request
    url, _ = server
    body = b'{"image_base64": ' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}"
    done = {}
    t = threading.Thread(target=lambda: done.update(r=R.post(url, "/api/v1/ocr", body, "application/json")))
    t.start()
    worst = 0.0
    while t.is_alive():
        t0 = time.perf_counter()
        urllib.request.urlopen(url + "/api/v1/health", timeout=5).read()
        worst = max(worst, time.perf_counter() - t0)
        time.sleep(0.02)
    t.join()
    status, doc, secs = done["r"]
    assert status == 422 and doc["error"]["code"] == "validation_error" and secs < 30
    assert worst < 0.25, f"health took {worst * 1000:.0f} ms while the body was parsed"
