"""ONNX Runtime sessions and timing: the one place the service, the compression pipeline and
the benchmark build sessions and measure latency."""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort


def available_cpus() -> int:
    """CPUs this process may run on (cgroup/affinity aware where the OS tells us)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    return int(os.environ.get("OCR_THREADS", 0)) or min(available_cpus(), 4)


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """Full graph optimisation, ``threads`` intra-op threads (default: OCR_THREADS or the CPUs we
    may use, at most 4), one inter-op thread, sequential execution, no spin-waiting."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or default_threads()
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Spin-waiting threads fight for the CPU on small/busy machines (Lambda, shared cores).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # One CPU arena for every session of the process: a request runs the classifier, the detector
    # and the recogniser one after another, so they reuse each other's buffers instead of each
    # session's own arena keeping its peak for good (32 clients: peak RSS ~750 instead of
    # ~1075 MB, same latency; bench/reliability.py). OCR_ORT_ARENA=session: an arena per session;
    # OCR_ORT_ARENA=0: no arena at all.
    arena = os.environ.get("OCR_ORT_ARENA", "shared")
    opts.enable_cpu_mem_arena = arena != "0"
    if arena not in ("0", "session"):
        _register_shared_arena()
        opts.add_session_config_entry("session.use_env_allocators", "1")
    return opts


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def worker_pool(threads: int) -> ThreadPoolExecutor:
    """The process's pool for runs that go at once beside the caller's (``threads`` - 1 workers,
    shared by every request, so that concurrent requests queue rather than multiply threads)."""
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(max(1, threads - 1), thread_name_prefix="ocr-run")
        return _POOLS[threads]


_ARENA_LOCK = threading.Lock()
_ARENA_REGISTERED = False


def _register_shared_arena() -> None:
    global _ARENA_REGISTERED
    with _ARENA_LOCK:
        if not _ARENA_REGISTERED:
            info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
            ort.create_and_register_allocator(info, ort.OrtArenaCfg({}))
            _ARENA_REGISTERED = True


def make_session(path: str | Path | bytes, threads: int | None = None) -> ort.InferenceSession:
    """A CPU session with ``session_options(threads)``."""
    model = path if isinstance(path, bytes) else str(path)
    return ort.InferenceSession(model, sess_options=session_options(threads), providers=["CPUExecutionProvider"])


def interleaved_latency_ms(runners: dict[str, "callable"], runs: int = 200, rounds: int = 10,
                           warmup: int = 3) -> dict[str, float]:
    """p50 ms of each zero-argument callable, timed in interleaved rounds so that a
    background load affects every candidate alike (compare them as ratios)."""
    for fn in runners.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {k: [] for k in runners}
    per = max(1, runs // rounds)
    for _ in range(rounds):
        for k, fn in runners.items():
            for _ in range(per):
                t = time.perf_counter()
                fn()
                times[k].append((time.perf_counter() - t) * 1e3)
    return {k: float(np.median(v)) for k, v in times.items()}


def session_runner(session: ort.InferenceSession, feeds: dict):
    return lambda: session.run(None, feeds)
