"""infra/deploy_frontend.py: upload of frontend/ to the site bucket, against a real S3-compatible server
(SeaweedFS on 127.0.0.1, tests/s3_local.py). CloudFormation and CloudFront are not emulated here: the
stack-output lookup is tested with a stub client, the invalidation is switched off (--no-invalidate).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.deploy

import deploy_frontend as df
from s3_local import new_bucket, s3_server  # noqa: F401 -- fixture

API = "https://abc123.execute-api.eu-west-1.amazonaws.com"


@pytest.fixture
def site(tmp_path):
    d = tmp_path / "frontend"
    (d / "js").mkdir(parents=True)
    (d / "index.html").write_text("<!doctype html><script src=config.js></script>")
    (d / "styles.css").write_text("body{}")
    (d / "favicon.svg").write_text("<svg/>")
    (d / "config.js").write_text('window.SLIM_OCR_CONFIG = { apiBaseUrl: "" };')
    (d / "js" / "app.js").write_text("export {}")
    (d / "js" / "vendor.3f9a1c2b7d.js").write_text("export {}")
    (d / "README.md").write_text("not deployed")
    (d / ".hidden").write_text("not deployed")
    return d


def test_render_config_is_the_page_global():
    js = df.render_config(API + "/", 4.0).decode()
    assert re.search(r'window\.SLIM_OCR_CONFIG = \{ apiBaseUrl: "https://abc123[^"]*amazonaws\.com", '
                     r"maxUploadMB: 4\.0 \};", js), js


def test_plan_types_and_cache_headers(site):
    plan = {u.key: u for u in df.plan(site, df.render_config(API))}
    assert set(plan) == {"index.html", "styles.css", "favicon.svg", "config.js", "js/app.js", "js/vendor.3f9a1c2b7d.js"}
    assert plan["index.html"].content_type == "text/html; charset=utf-8"
    assert plan["js/app.js"].content_type == "text/javascript; charset=utf-8"  # module scripts need it
    assert plan["styles.css"].content_type.startswith("text/css")
    assert plan["favicon.svg"].content_type == "image/svg+xml"
    assert plan["index.html"].cache_control == plan["config.js"].cache_control == "no-cache"
    assert plan["js/vendor.3f9a1c2b7d.js"].cache_control.endswith("immutable")
    assert plan["js/app.js"].cache_control == "public, max-age=300"
    assert API.encode() in plan["config.js"].body  # generated, not the local file


def test_real_frontend_folder_plans(tmp_path):
    plan = {u.key: u for u in df.plan(df.FRONTEND, df.render_config(API))}
    if not plan or "index.html" not in plan:
        pytest.skip("frontend/ has no index.html yet")
    assert all(u.content_type != "application/octet-stream" for u in plan.values()), plan.keys()


def test_upload_to_s3_and_prune(s3_server, site, monkeypatch):
    s3 = s3_server.client("s3")
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="old/stale.js", Body=b"x")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    rc = df.main(["--bucket", bucket, "--api-url", API, "--frontend-dir", str(site), "--region", "us-east-1",
                  "--prune", "--no-invalidate", "--max-upload-mb", "4"])
    assert rc == 0
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["config.js", "favicon.svg", "index.html", "js/app.js", "js/vendor.3f9a1c2b7d.js", "styles.css"]
    head = s3.head_object(Bucket=bucket, Key="js/app.js")
    assert head["ContentType"] == "text/javascript; charset=utf-8" and head["CacheControl"] == "public, max-age=300"
    head = s3.head_object(Bucket=bucket, Key="index.html")
    assert head["ContentType"] == "text/html; charset=utf-8" and head["CacheControl"] == "no-cache"
    cfg = s3.get_object(Bucket=bucket, Key="config.js")["Body"].read().decode()
    assert f'apiBaseUrl: "{API}"' in cfg and "maxUploadMB: 4.0" in cfg


def test_stack_outputs_lookup():
    class FakeCfn:
        def describe_stacks(self, StackName):  # noqa: N803 -- boto3's spelling
            assert StackName == "slim-ocr"
            return {"Stacks": [{"Outputs": [{"OutputKey": "ApiUrl", "OutputValue": API},
                                            {"OutputKey": "SiteBucketName", "OutputValue": "site-bkt"}],
                                "Parameters": [{"ParameterKey": "MaxImageBytes", "ParameterValue": "4194304"}]}]}

    outputs, params = df.stack_info(FakeCfn(), "slim-ocr")
    assert outputs == {"ApiUrl": API, "SiteBucketName": "site-bkt"} and params["MaxImageBytes"] == "4194304"
