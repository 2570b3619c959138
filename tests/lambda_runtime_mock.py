"""A small local stand-in for the AWS Lambda Runtime API, to run a built function the way Lambda does.

The real AWS runtime interface client (``awslambdaric``, from PyPI) runs in a separate, clean Python
3.12 process with only the built artefact (the task root) and a runtime directory (awslambdaric +
boto3, what Lambda's /var/runtime provides) on its path. It polls this server for events and posts
results, exactly as it does on Lambda:

    GET  /2018-06-01/runtime/invocation/next            -> the next event (blocks until there is one)
    POST /2018-06-01/runtime/invocation/{id}/response   -> the handler's result
    POST /2018-06-01/runtime/invocation/{id}/error      -> the handler raised
    POST /2018-06-01/runtime/init/error                 -> the module failed to import / init

No PyPI or Debian package ships AWS's emulator (the RIE is a download from GitHub), so this is the
smallest faithful replacement: what `sam local invoke` checks, minus Docker.
"""
from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

PREFIX = "/2018-06-01/runtime"
TASK_ROOT_IN_LAMBDA = "/var/task"


@dataclass
class Invocation:
    request_id: str
    body: bytes
    deadline_ms: int
    done: threading.Event = field(default_factory=threading.Event)
    kind: str | None = None  # "response" | "error"
    payload: bytes = b""
    error_type: str | None = None

    def json(self):
        return json.loads(self.payload)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # the runtime process going away mid-poll is normal
        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


class RuntimeApiMock:
    def __init__(self, function_name: str = "OcrFunction", region: str = "us-east-1"):
        self.function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.invocations: dict[str, Invocation] = {}
        self.init_error: dict | None = None
        self.polls = 0
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    return self._reply(404, b'{"errorType":"NotFound"}')
                mock.polls += 1
                inv = mock.pending.get()  # blocks like the real API until an event arrives
                self._reply(200, inv.body, {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": mock.function_arn,
                    "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
                })

            def do_POST(self):
                body = self._body()
                if self.path == f"{PREFIX}/init/error":
                    mock.init_error = {"body": body.decode("utf-8", "replace"),
                                       "type": self.headers.get("Lambda-Runtime-Function-Error-Type")}
                    return self._reply(202, b'{"status":"OK"}')
                m = re.fullmatch(rf"{PREFIX}/invocation/([^/]+)/(response|error)", self.path)
                inv = mock.invocations.get(m.group(1)) if m else None
                if inv is None:
                    return self._reply(404, b'{"errorType":"InvalidRequestID"}')
                inv.kind, inv.payload = m.group(2), body
                inv.error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                inv.done.set()
                self._reply(202, b'{"status":"OK"}')

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> "RuntimeApiMock":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def invoke(self, event, timeout_s: float = 60.0, process: subprocess.Popen | None = None) -> Invocation:
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        inv = Invocation(uuid.uuid4().hex, body, int((time.time() + timeout_s) * 1000))
        self.invocations[inv.request_id] = inv
        self.pending.put(inv)
        end = time.monotonic() + timeout_s
        while not inv.done.wait(0.2):
            if self.init_error is not None:
                raise RuntimeError(f"function init failed: {self.init_error}")
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"runtime process exited with {process.returncode}")
            if time.monotonic() > end:
                raise TimeoutError(f"no result within {timeout_s} s (Task timed out)")
        return inv


# ---- the function process -----------------------------------------------------------------
class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 -- SafeLoader subclass


def resolve_env(template: dict, logical_id: str, task_root: Path, overrides: dict | None = None) -> dict[str, str]:
    """The function's environment as `sam local invoke` resolves it: Globals + function variables,
    parameters at their defaults, unresolvable attributes as placeholders, /var/task -> task_root."""
    params = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
    pseudo = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::StackName": "slim-ocr",
              "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}

    def value(v):
        if isinstance(v, dict) and "Ref" in v:
            return params.get(v["Ref"], pseudo.get(v["Ref"], v["Ref"]))
        if isinstance(v, dict) and "Sub" in v:
            text = v["Sub"] if isinstance(v["Sub"], str) else v["Sub"][0]
            return re.sub(r"\$\{([^}]+)\}", lambda m: params.get(m.group(1), pseudo.get(
                m.group(1), "d111111abcdef8.cloudfront.net" if "DomainName" in m.group(1) else m.group(1))), text)
        return str(v)

    env: dict[str, str] = {}
    glob = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    fn = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    for k, v in {**glob, **fn}.items():
        env[k] = value(v).replace(TASK_ROOT_IN_LAMBDA, str(task_root))
    env.update(overrides or {})
    return env


def start_function(task_root: Path, runtime_dir: Path, python: str, handler: str, api: RuntimeApiMock,
                   env: dict[str, str | None], memory_mb: int = 2048, log_path: Path | None = None) -> subprocess.Popen:
    """Start `python -m awslambdaric <handler>` like Lambda's bootstrap: clean environment, task root
    first on the path, then the runtime directory; no site-packages (-S), cwd = task root."""
    name = api.function_arn.rsplit(":", 1)[-1]
    lambda_env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8", "TZ": ":UTC",
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only on Lambda: no __pycache__ appears there
        "PYTHONPATH": f"{task_root}{os.pathsep}{runtime_dir}",
        "LAMBDA_TASK_ROOT": str(task_root), "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "_HANDLER": handler, "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}", "AWS_LAMBDA_LOG_STREAM_NAME": "local/[$LATEST]0",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        # Lambda injects the execution role's temporary credentials; these are dummies.
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "test",
        **env,
    }
    lambda_env = {k: v for k, v in lambda_env.items() if v is not None}  # None in env: unset it
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen([python, "-S", "-s", "-m", "awslambdaric", handler], cwd=task_root, env=lambda_env,
                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def find_python312() -> str | None:
    cand = os.environ.get("LAMBDA_PYTHON")
    if cand:
        return cand
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for p in sorted(root.glob("3.12*/bin/python3.12"), reverse=True):
        return str(p)
    for p in ("/usr/bin/python3.12", "/usr/local/bin/python3.12"):
        if os.path.exists(p):
            return p
    return None


if __name__ == "__main__":  # manual use: python tests/lambda_runtime_mock.py BUILD_DIR RUNTIME_DIR HANDLER EVENT.json
    build, rt, handler, event_file = sys.argv[1:5]
    tmpl = load_template(Path(build).parents[0] / "template.yaml")
    api = RuntimeApiMock().start()
    env = resolve_env(tmpl, Path(build).name, Path(build).resolve())
    proc = start_function(Path(build).resolve(), Path(rt).resolve(), find_python312(), handler, api, env)
    try:
        result = api.invoke(json.loads(Path(event_file).read_text()), process=proc)
        print(result.kind, result.payload.decode())
    finally:
        proc.terminate()
        api.stop()
