"""``slim-ocr`` (and ``python -m slim_ocr``): OCR images, PDFs and multi-page TIFFs from the shell."""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .document import DEFAULT_DPI, EXTENSIONS, MAX_DPI, MAX_PAGES, MIN_DPI, parse_pages
from .errors import OcrError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
FORMATS = {"txt": ".txt", "json": ".json", "hocr": ".hocr", "pdf": ".pdf"}
_BY_SUFFIX = {".txt": "txt", ".json": "json", ".hocr": "hocr", ".html": "hocr", ".pdf": "pdf"}

EPILOG = f"""\
inputs: image files (PNG, JPEG, WebP, BMP), PDFs, TIFFs (every page), directories (searched
recursively for {', '.join(EXTENSIONS)}), or - for standard input.

output: without -o, txt/json/hocr go to standard output (several inputs: txt with a
'==> NAME <==' header each, json as one JSON object per line); pdf needs -o. With one input,
-o is the output file (unless it is a directory or ends with /); with several, -o is a
directory and each result is OUT/<name>.<format> (sub-folders of directory inputs kept).
--format defaults to the -o file's extension, else txt. txt separates pages with a form feed.

exit status:
  0  every input was read
  1  some inputs failed (each one is reported on standard error; the others are still written)
  2  usage error (bad arguments, unknown model, no inputs found)
"""


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slim-ocr", description="Chinese + English OCR on CPU: images, PDFs, "
                                "multi-page TIFFs -> text, JSON, hOCR or searchable PDF.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, directories or - (standard input)")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (one input) or directory")
    p.add_argument("-f", "--format", choices=sorted(FORMATS), help="txt (default), json, hocr or pdf")
    p.add_argument("--model", metavar="NAME", help="model bundle: a name under function/models or a folder "
                   "(default: $OCR_MODEL or ppocrv6-tiny-slim)")
    p.add_argument("--pages", metavar="A-B", help="page range of PDFs/TIFFs, e.g. 1-3,5 or 4- (default: all)")
    p.add_argument("--mode", choices=["auto", "line", "page"], default="auto",
                   help="line: each image is one text line; page: detect lines; auto: decide (default)")
    p.add_argument("--dpi", type=float, default=DEFAULT_DPI,
                   help=f"resolution PDF pages are rendered at ({MIN_DPI}-{MAX_DPI}, default {DEFAULT_DPI})")
    p.add_argument("--force-ocr", action="store_true", help="also OCR PDF pages that already have a text layer")
    p.add_argument("--password", help="password of encrypted PDFs")
    p.add_argument("--threads", type=int, help="ONNX Runtime threads (default: $OCR_THREADS or the CPUs, max 4)")
    p.add_argument("--max-pages", type=int, default=MAX_PAGES, help=f"pages per document (default {MAX_PAGES})")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="show progress even when standard error is not a terminal")
    bar.add_argument("-q", "--quiet", dest="progress", action="store_false", help="no progress output")
    return p


@dataclass
class Job:
    label: str              # what messages call it
    path: Path | None       # None: standard input
    rel: Path               # output name relative to OUT


def collect(inputs: list[str]) -> tuple[list[Job], list[str]]:
    """Jobs for the inputs (directories expanded) and messages for inputs that do not exist."""
    jobs, missing = [], []
    for arg in inputs:
        if arg == "-":
            jobs.append(Job("-", None, Path("stdin")))
            continue
        path = Path(arg)
        if path.is_dir():
            found = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in EXTENSIONS)
            jobs.extend(Job(str(f), f, f.relative_to(path)) for f in found)
        elif path.exists():
            jobs.append(Job(arg, path, Path(path.name)))
        else:
            missing.append(arg)
    return jobs, missing


def output_paths(jobs: list[Job], out: Path, fmt: str) -> dict[int, Path]:
    """OUT/<stem>.<ext>; where two inputs would collide (scan.pdf, scan.png) or an output would
    overwrite its input, OUT/<name>.<ext> instead."""
    ext = FORMATS[fmt]
    first = {i: out / j.rel.with_suffix(ext) for i, j in enumerate(jobs)}
    counts: dict[Path, int] = {}
    for p in first.values():
        counts[p] = counts.get(p, 0) + 1
    paths = {}
    for i, j in enumerate(jobs):
        p = first[i]
        if counts[p] > 1 or (j.path is not None and p.resolve() == j.path.resolve()):
            p = out / j.rel.with_name(j.rel.name + ext)
        paths[i] = p
    return paths


class Progress:
    """tqdm when it is installed, else a one-line counter on standard error."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled, self.bar = total, 0, enabled and total > 1, None
        if not self.enabled:
            return
        try:
            from tqdm import tqdm  # noqa: PLC0415 -- optional ("pip install slim-ocr[cli]")
        except ImportError:
            return
        self.bar = tqdm(total=total, unit="page", file=sys.stderr, dynamic_ncols=True, leave=False)

    def update(self, label: str, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(os.path.basename(label), refresh=False)
            self.bar.update(n)
        else:
            sys.stderr.write(f"\rslim-ocr: {self.done}/{self.total} pages  {os.path.basename(label)[:40]:<40}")
            sys.stderr.flush()

    def write(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            if self.enabled and self.done:
                sys.stderr.write("\r" + " " * 70 + "\r")
            sys.stderr.write(message + "\n")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and self.done:
            sys.stderr.write("\n")


def _count(job: Job, data: bytes | None, pages: str | None, password: str | None) -> int:
    from .document import open_document, read_file  # noqa: PLC0415

    try:
        with open_document(data if job.path is None else read_file(job.path), password) as doc:
            return len(parse_pages(pages, doc.page_count))
    except Exception:  # noqa: BLE001 -- the real run reports it
        return 1


def render(doc, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc.to_dict(), ensure_ascii=False)
    if fmt == "hocr":
        return doc.to_hocr()
    return "\f".join(p.text + "\n" for p in doc.pages)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:               # argparse: 2 for errors, 0 for --help
        return int(e.code or 0)
    try:
        return run(args)
    except UsageError as e:
        print(f"slim-ocr: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def run(args) -> int:
    fmt = args.format or _BY_SUFFIX.get(Path(args.output).suffix.lower() if args.output else "", "txt")
    if not (MIN_DPI <= args.dpi <= MAX_DPI):
        raise UsageError(f"--dpi must be between {MIN_DPI} and {MAX_DPI}")
    if args.pages:
        try:
            parse_pages(args.pages, 10**9)
        except OcrError as e:
            raise UsageError(f"--pages: {e.message}") from None
    if args.max_pages < 1:
        raise UsageError("--max-pages must be at least 1")
    if args.inputs.count("-") > 1:
        raise UsageError("- (standard input) can be given once")
    jobs, missing = collect(args.inputs)
    if not jobs and not missing:
        raise UsageError("no inputs found (supported: " + ", ".join(EXTENSIONS) + ")")

    several = len(jobs) + len(missing) > 1 or any(Path(a).is_dir() for a in args.inputs if a != "-")
    out = Path(args.output) if args.output else None
    to_dir = out is not None and (several or out.is_dir() or args.output.endswith(("/", os.sep)))
    if out is None and fmt == "pdf":
        raise UsageError("--format pdf needs -o OUT")
    if out is None and several and fmt == "hocr":
        raise UsageError("hOCR of several inputs needs -o DIRECTORY")
    if to_dir and out.exists() and not out.is_dir():
        raise UsageError(f"-o {out}: not a directory (several inputs write one file each into it)")
    paths = output_paths(jobs, out, fmt) if to_dir else {}

    from .api import SlimOCR  # noqa: PLC0415

    try:
        ocr = SlimOCR(model=args.model, threads=args.threads, dpi=args.dpi, mode=args.mode, max_pages=args.max_pages)
    except (FileNotFoundError, ValueError, OSError) as e:
        raise UsageError(f"cannot load model {args.model or '(default)'}: {e}") from None

    stdin = sys.stdin.buffer.read() if any(j.path is None for j in jobs) else None
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    total = sum(_count(j, stdin, args.pages, args.password) for j in jobs) if show else 0
    progress = Progress(total, bool(show))
    failed = len(missing)
    for m in missing:
        progress.write(f"slim-ocr: {m}: no such file or directory")
    for i, job in enumerate(jobs):
        try:
            source = stdin if job.path is None else job.path
            doc = ocr(source, pages=args.pages, force_ocr=args.force_ocr, password=args.password,
                      on_page=lambda page, label=job.label: progress.update(label))
            if doc.name is None and job.path is not None:
                doc.name = job.path.name
            for page in doc.pages:
                for note in page.notes:
                    progress.write(f"slim-ocr: {job.label}: page {page.number}: {note}")
            _emit(doc, fmt, job, paths.get(i) if to_dir else out, several)
        except OcrError as e:
            failed += 1
            progress.write(f"slim-ocr: {job.label}: {e.message} [{e.code}]")
        except OSError as e:
            failed += 1
            progress.write(f"slim-ocr: {job.label}: {e.strerror or e}")
    progress.close()
    return EXIT_FAILED if failed else EXIT_OK


def _emit(doc, fmt: str, job: Job, dest: Path | None, several: bool) -> None:
    if fmt == "pdf":
        dest.parent.mkdir(parents=True, exist_ok=True)
        doc.to_pdf(dest)
        return
    if fmt == "json" and several and dest is None:
        text = json.dumps({"file": job.label, **doc.to_dict()}, ensure_ascii=False) + "\n"
    else:
        text = render(doc, fmt)
        if fmt != "txt" and not text.endswith("\n"):
            text += "\n"
    if dest is None:
        if several and fmt == "txt":
            sys.stdout.write(f"==> {job.label} <==\n")
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
