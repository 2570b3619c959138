#!/usr/bin/env python3
"""Unzipped / zipped size of the Lambda artefact, per architecture, against Lambda's limits.

By default builds the artefact for arm64 and x86_64 with the same recipe `sam build` uses
(function/Makefile, pip --platform wheels for Python 3.12) into .aws-sam/package-size/<arch>
(reused while requirements.txt, the Makefile and the sources are unchanged), then prints:

    arch      unzipped   zipped  files  limit 250 MiB unzipped
    arm64     ...

Lambda's limits for a zip deployment: 262,144,000 bytes (250 MiB) unzipped, function code plus
layers; 50 MB zipped for a direct upload (sam deploy uploads through S3, so only the unzipped
limit applies). `--built DIR` measures an existing build instead (e.g. .aws-sam/build/OcrFunction).
Exit status 1 with --check when the deployed architecture (arm64) has less than --headroom-mb left.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTION = ROOT / "function"
CACHE = ROOT / ".aws-sam" / "package-size"
LIMIT_UNZIPPED = 262_144_000  # bytes; "Unzipped size must be smaller than 262144000 bytes"
LIMIT_ZIP_DIRECT = 50 * 1024 * 1024
DEPLOYED_ARCH = "arm64"
MIB = 1024 * 1024


def _inputs_digest(arch: str) -> str:
    h = hashlib.sha256(arch.encode())
    files = [FUNCTION / "requirements.txt", FUNCTION / "Makefile", FUNCTION / "app.py", FUNCTION / "handler.py",
             *sorted((FUNCTION / "slim_ocr").glob("*.py")), *sorted((FUNCTION / "models").rglob("*"))]
    for f in files:
        if f.is_file():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def build(arch: str, rebuild: bool = False) -> Path:
    out = CACHE / arch
    stamp = CACHE / f"{arch}.stamp"
    digest = _inputs_digest(arch)
    if not rebuild and out.is_dir() and stamp.is_file() and stamp.read_text() == digest:
        return out
    if out.exists():
        subprocess.run(["rm", "-rf", str(out)], check=True)
    out.mkdir(parents=True)
    env = {**os.environ, "ARTIFACTS_DIR": str(out), "LAMBDA_ARCH": arch}
    subprocess.run(["make", "--no-print-directory", "-C", str(FUNCTION), "artefact"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    stamp.write_text(digest)
    return out


def elf_arch(build_dir: Path) -> str | None:
    """arm64 / x86_64 from numpy's extension module in a build dir (None if not recognisable)."""
    so = next((build_dir / "numpy" / "_core").glob("_multiarray_umath*.so"), None)
    if so is None:
        return None
    machine = int.from_bytes(so.read_bytes()[18:20], "little")
    return {0xB7: "arm64", 0x3E: "x86_64"}.get(machine)


def measure(path: Path) -> dict:
    files = [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    unzipped = sum(p.stat().st_size for p in files)
    by_top: dict[str, int] = {}
    for p in files:
        top = p.relative_to(path).parts[0]
        by_top[top] = by_top.get(top, 0) + p.stat().st_size
    with tempfile.TemporaryDirectory() as tmp:
        zpath = Path(tmp) / "function.zip"
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:  # what sam package does
            for p in sorted(files):
                zf.write(p, p.relative_to(path).as_posix())
        zipped = zpath.stat().st_size
    return {"unzipped": unzipped, "zipped": zipped, "files": len(files),
            "top": sorted(by_top.items(), key=lambda kv: -kv[1])}


def report(label: str, m: dict, top: int) -> str:
    left = LIMIT_UNZIPPED - m["unzipped"]
    verdict = f"OK, {left / MIB:6.1f} MiB to spare" if left > 0 else f"OVER by {-left / MIB:.1f} MiB"
    direct = "yes" if m["zipped"] <= LIMIT_ZIP_DIRECT else "no (deploy via S3: sam deploy does)"
    lines = [f"{label:<14} {m['unzipped'] / MIB:9.1f} {m['zipped'] / MIB:9.1f} {m['files']:7d}  {verdict};"
             f" zip <= 50 MB direct upload: {direct}"]
    for name, size in m["top"][:top]:
        lines.append(f"{'':<14}   {size / MIB:7.1f} MiB  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", action="append", choices=["arm64", "x86_64"],
                    help="architecture(s) to build and measure (default: both)")
    ap.add_argument("--built", action="append", default=[], metavar="DIR", help="measure an existing build dir")
    ap.add_argument("--reuse", action="append", default=[], metavar="DIR",
                    help="an existing `sam build` dir (e.g. .aws-sam/build/OcrFunction) to measure instead of "
                         "building its architecture again (the architecture is read from its wheels)")
    ap.add_argument("--rebuild", action="store_true", help="ignore the cached per-architecture builds")
    ap.add_argument("--top", type=int, default=0, help="also list the N largest top-level entries")
    ap.add_argument("--check", action="store_true", help=f"exit 1 unless {DEPLOYED_ARCH} has --headroom-mb left")
    ap.add_argument("--headroom-mb", type=float, default=20.0)
    args = ap.parse_args(argv)

    print(f"{'artefact':<14} {'unzipped':>9} {'zipped':>9} {'files':>7}  (MiB; Lambda zip limit: "
          f"{LIMIT_UNZIPPED / MIB:.0f} MiB = {LIMIT_UNZIPPED:,} bytes unzipped, code + layers)")
    status = 0
    for d in args.built:
        print(report(Path(d).name[:14], measure(Path(d)), args.top))
    reuse = {elf_arch(Path(d)): Path(d) for d in args.reuse if Path(d).is_dir()}
    for arch in (args.arch or ([] if args.built else ["arm64", "x86_64"])):
        m = measure(reuse[arch] if arch in reuse else build(arch, args.rebuild))
        print(report(arch, m, args.top))
        if args.check and arch == DEPLOYED_ARCH and LIMIT_UNZIPPED - m["unzipped"] < args.headroom_mb * MIB:
            print(f"FAIL: {arch} has less than {args.headroom_mb} MiB headroom", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
