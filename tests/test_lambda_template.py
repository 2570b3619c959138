"""template.yaml: `sam validate --lint` (cfn-lint rules) and `sam validate --region` (the SAM transform),
which catch different mistakes (shown by the broken copies below), plus the deployment decisions
that must not drift (architecture, runtime, routes, limits, batch wiring), and package_size.py.

sam comes from its own venv (.venv-sam, `pip install aws-sam-cli`) or PATH; missing: skipped, or failed
with REQUIRE_LAMBDA_TESTS=1. No AWS account is used: dummy credentials, telemetry off.
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.deploy

from lambda_runtime_mock import load_template

TEMPLATE = load_template(ROOT / "template.yaml")
RES = TEMPLATE["Resources"]


def sam_bin() -> str:
    local = ROOT / ".venv-sam" / "bin" / "sam"
    found = str(local) if local.exists() else shutil.which("sam")
    if not found:
        if os.environ.get("REQUIRE_LAMBDA_TESTS") == "1":
            pytest.fail("sam CLI not found (REQUIRE_LAMBDA_TESTS=1)")
        pytest.skip("sam CLI not found (python -m venv .venv-sam && .venv-sam/bin/pip install aws-sam-cli)")
    return found


def sam_validate(template: Path, lint: bool) -> subprocess.CompletedProcess:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_PROFILE", None)
    args = [sam_bin(), "validate", "-t", str(template)] + (["--lint"] if lint else ["--region", "us-east-1"])
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=180, cwd=ROOT)


@pytest.mark.parametrize("template", ["template.yaml", "infra/template-image.yaml"])
@pytest.mark.parametrize("lint", [True, False], ids=["lint", "transform"])
def test_sam_validate(template, lint):
    res = sam_validate(ROOT / template, lint)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "is a valid SAM Template" in res.stdout + res.stderr


@pytest.mark.parametrize("old,new,lint", [
    ("!GetAtt SiteBucket.RegionalDomainName", "!GetAtt SiteBucket.NoSuchAttr", True),  # cfn-lint only
    ("ApiId: !Ref HttpApi\n", "ApiId: !Ref NoSuchApi\n", False),                     # SAM transform only
])
def test_sam_validate_catches_broken_templates(tmp_path, old, new, lint):
    text = (ROOT / "template.yaml").read_text()
    assert old in text
    broken = tmp_path / "template.yaml"
    broken.write_text(text.replace(old, new, 1))
    assert sam_validate(broken, lint).returncode != 0


def test_functions_are_arm64_python312_zip_with_makefile_builds():
    glob = TEMPLATE["Globals"]["Function"]
    assert glob["Runtime"] == "python3.12" and glob["Architectures"] == ["arm64"] and glob["CodeUri"] == "function/"
    for name in ("OcrFunction", "BatchFunction"):
        assert RES[name]["Metadata"]["BuildMethod"] == "makefile"
        assert "PackageType" not in RES[name]["Properties"]
    assert RES["OcrFunction"]["Properties"]["Handler"] == "handler.handler"
    assert RES["BatchFunction"]["Properties"]["Handler"] == "handler.s3_handler"
    makefile = (ROOT / "function" / "Makefile").read_text()
    assert "build-OcrFunction:" in makefile and "build-BatchFunction:" in makefile


def test_handlers_exist_in_handler_py():
    tree = ast.parse((ROOT / "function" / "handler.py").read_text())
    names = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    names |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"handler", "s3_handler"} <= names


def test_environment_limits_cors_and_logging():
    env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert {"OCR_MODEL", "MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "LOG_LEVEL"} <= set(env)
    assert env["OCR_MODEL"] == {"Ref": "OcrModel"}
    from slim_ocr.bundle import DEFAULT_MODEL
    assert TEMPLATE["Parameters"]["OcrModel"]["Default"] == DEFAULT_MODEL    # the Lambda serves the project's default
    from conftest import lambda_makefile_list
    assert DEFAULT_MODEL in lambda_makefile_list("LAMBDA_BUNDLES")           # ... and the package carries it
    assert "CORS_ORIGINS" in RES["OcrFunction"]["Properties"]["Environment"]["Variables"]
    # base64 in a <= 6 MB synchronous invoke: the image itself must stay under ~4.4 MiB
    assert int(TEMPLATE["Parameters"]["MaxImageBytes"]["Default"]) * 4 / 3 < 6_000_000
    assert RES["OcrFunction"]["Properties"]["Timeout"] <= 30


def test_http_api_routes_throttling_cors():
    events = RES["OcrFunction"]["Properties"]["Events"]
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events.values()}
    assert routes == {("POST", "/api/v1/ocr"), ("POST", "/predict"), ("GET", "/api/v1/health")}
    assert all(e["Type"] == "HttpApi" for e in events.values())
    api = RES["HttpApi"]["Properties"]
    assert set(api["DefaultRouteSettings"]) == {"ThrottlingRateLimit", "ThrottlingBurstLimit"}
    assert "CorsConfiguration" in api


def test_static_site_is_private_behind_cloudfront_oac():
    bucket = RES["SiteBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    origin = RES["SiteDistribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert "OriginAccessControlId" in origin
    stmt = RES["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert stmt["Principal"] == {"Service": "cloudfront.amazonaws.com"} and stmt["Action"] == "s3:GetObject"


def test_batch_wiring_prefix_dlq_and_retries():
    props = RES["BatchFunction"]["Properties"]
    s3 = props["Events"]["Incoming"]
    assert s3["Type"] == "S3" and s3["Properties"]["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix",
                                                                                   "Value": "incoming/"}]
    on_failure = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    assert props["Environment"]["Variables"]["RESULT_PREFIX"] == "results/"  # outside the trigger prefix
    assert RES["BatchDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"


def test_outputs():
    assert {"ApiUrl", "SiteUrl", "SiteBucketName", "SiteDistributionId", "InputBucketName",
            "DeadLetterQueueUrl", "BatchFunctionArn", "BatchOperationsRoleArn"} <= set(TEMPLATE["Outputs"])


def test_backfill_role_is_for_batch_operations_and_scoped_to_the_function_and_bucket():
    """S3 Batch Operations jobs (infra/README.md, "Backfill an existing bucket") assume this role: it may
    invoke BatchFunction, read manifests under backfill/ and write reports under backfill/reports/."""
    role = RES["BatchOperationsRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "batchoperations.s3.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    grants = {}
    for policy in role["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            assert st["Effect"] == "Allow" and "*" not in str(st["Action"])
            for action in [st["Action"]] if isinstance(st["Action"], str) else st["Action"]:
                grants[action] = st["Resource"]
    assert grants["lambda:InvokeFunction"] == [{"GetAtt": "BatchFunction.Arn"}, {"Sub": "${BatchFunction.Arn}:*"}]
    assert grants["s3:GetObject"] == {"Sub": "${InputBucket.Arn}/backfill/*"}
    assert grants["s3:PutObject"] == {"Sub": "${InputBucket.Arn}/backfill/reports/*"}
    assert set(grants) == {"lambda:InvokeFunction", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject",
                           "s3:GetBucketLocation"}
    assert TEMPLATE["Outputs"]["BatchOperationsRoleArn"]["Value"] == {"GetAtt": "BatchOperationsRole.Arn"}
    # backfill/ is outside the trigger prefix and the results, so manifests and reports are never OCR'd
    props = RES["BatchFunction"]["Properties"]["Environment"]["Variables"]
    assert not "backfill/".startswith(props["INPUT_PREFIX"]) and not "backfill/".startswith(props["RESULT_PREFIX"])


def test_boto3_is_not_bundled():
    reqs = (ROOT / "function" / "requirements.txt").read_text().lower()
    assert "boto3" not in reqs and "botocore" not in reqs


def test_package_size_measure(tmp_path):
    import package_size

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.bin").write_bytes(b"\0" * 100_000)
    (tmp_path / "b.txt").write_text("hello")
    m = package_size.measure(tmp_path)
    assert m["unzipped"] == 100_005 and m["files"] == 2 and 0 < m["zipped"] < 10_000
    assert m["top"][0] == ("pkg", 100_000)
    assert "OK" in package_size.report("arm64", m, 0)
    over = {**m, "unzipped": package_size.LIMIT_UNZIPPED + 1}
    assert "OVER" in package_size.report("x86_64", over, 0)
