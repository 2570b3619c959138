"""Cost per 1,000 pages on AWS Lambda arm64, from measured time per page (``bench/page_bench.json``).

    python -m bench.cost [--results bench/page_bench.json] [--system ours]

Per page: the mean CPU time of our engine on one thread (``cpu_ms_mean`` of each page-set
subset; thread CPU time is less affected by other jobs on the measuring machine than wall
time) is the billed duration on a function of at least 1,769 MB (one full vCPU: the work is
single-threaded at heart, so more memory does not shorten it much, and below 1,769 MB Lambda
gives a proportional share of a vCPU, which stretches the duration by the same factor the
memory shrinks -- the GB-seconds stay the same). GB-seconds = memory (template.yaml's default
for the API and batch functions) x duration; plus one request per page (the web page and the
API read a document one page per request; S3 batch makes one request per document, so its
request share is lower).

Caveat: measured on the x86 machine named in the results, not on Graviton; Lambda's arm64
cores run this kind of code at a similar speed per core, but that was not measured here.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "page_bench.json"
TEMPLATE = REPO / "template.yaml"

# AWS Lambda, US East (N. Virginia), arm64, first 7.5 billion GB-s per month; as listed on
# https://aws.amazon.com/lambda/pricing/ (read 2026-12-01)
PRICE_DATE = "2026-12-01"
PRICE_GB_S = 0.0000133334
PRICE_REQUEST = 0.20 / 1_000_000
FULL_VCPU_MB = 1769


def template_memory(path: Path = TEMPLATE) -> dict[str, int]:
    """Default MemorySize (MB) of the API and batch functions (template parameters)."""
    import yaml  # noqa: PLC0415

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)   # CloudFormation tags
    params = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)["Parameters"]
    return {"api": int(params["ApiMemorySize"]["Default"]), "batch": int(params["BatchMemorySize"]["Default"])}


def cost_per_1000(cpu_ms: float, memory_mb: int, requests_per_page: float = 1.0) -> float:
    duration_s = cpu_ms / 1000 * max(1.0, FULL_VCPU_MB / memory_mb)
    return 1000 * (memory_mb / 1024 * duration_s * PRICE_GB_S + requests_per_page * PRICE_REQUEST)


def table(results: dict, system: str, memory: dict[str, int]) -> str:
    rows = [f"| subset | CPU ms/page (mean) | API ({memory['api']} MB) $/1,000 pages | "
            f"batch ({memory['batch']} MB) $/1,000 pages |", "|---|---:|---:|---:|"]
    for subset, per in results["summary"].items():
        if subset == "all" or system not in per:
            continue
        ms = per[system]["cpu_ms_mean"]
        rows.append(f"| {subset} | {ms:,.0f} | {cost_per_1000(ms, memory['api']):.4f} | "
                    f"{cost_per_1000(ms, memory['batch'], requests_per_page=0.0):.4f} |")
    return "\n".join(rows)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--system", default="ours")
    args = ap.parse_args(argv)
    res = json.loads(args.results.read_text(encoding="utf-8"))
    print(f"{res['systems'][args.system]}; measured {res['date']} on {res['machine']}, 1 thread; "
          f"arm64 price ${PRICE_GB_S}/GB-s + ${PRICE_REQUEST * 1e6:.2f}/1M requests (US East, {PRICE_DATE}); "
          f"batch: request cost per document, not counted per page")
    print(table(res, args.system, template_memory()))


if __name__ == "__main__":
    main()
