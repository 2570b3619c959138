"""Model bundles: ``function/models/<name>/`` = ``model.onnx`` + ``charset.txt`` + ``model.json``.

``OCR_MODEL`` names the bundle the service serves (a name under the models folder, or a
bundle folder's path); ``DEFAULT_MODEL`` is the one the project ships as default (``ppocrv6-tiny-slim``,
PP-OCRv6-tiny compressed by ``pruning.compression.ppocr.gradual``). ``crnn`` is always the
project's own trained CRNN in its best shipped form.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .charset import Charset
from .contract import MODEL_FILE, ContractError, ModelContract

MODELS_DIR = Path(os.environ.get("OCR_MODELS_DIR") or Path(__file__).resolve().parents[1] / "models")
DEFAULT_MODEL = "ppocrv6-tiny-slim"
CRNN = "crnn"


def bundle_dir(name: str | Path | None = None) -> Path:
    """Folder of the bundle ``name`` (default: OCR_MODEL, else DEFAULT_MODEL): a bare name is a
    folder under MODELS_DIR, anything with a path separator (or a Path) is a folder itself."""
    name = name or os.environ.get("OCR_MODEL") or DEFAULT_MODEL
    if isinstance(name, Path) or "/" in name or os.sep in name:
        path = Path(name)
        if not path.is_dir():
            raise ContractError(f"model bundle {str(name)!r} is not a folder")
        return path
    path = MODELS_DIR / name
    if not path.is_dir():
        raise ContractError(f"no model bundle {name!r} in {MODELS_DIR} (have: {', '.join(available()) or 'none'})")
    return path


def available() -> list[str]:
    """Names of the bundles under MODELS_DIR."""
    if not MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / "model.json").exists())


@dataclass
class ModelBundle:
    dir: Path
    contract: ModelContract
    charset: Charset

    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def model_path(self) -> Path:
        return self.dir / MODEL_FILE

    @classmethod
    def load(cls, name: str | Path | None = None) -> "ModelBundle":
        """Read and check a bundle: contract valid, charset hash and size match it, model file present.
        (The ONNX input/output check needs a session: ``Recognizer`` does it on load.)"""
        d = bundle_dir(name)
        contract = ModelContract.load(d)
        charset_path = d / contract.output.charset
        if not charset_path.exists():
            raise ContractError(f"{charset_path}: missing (named by {d / 'model.json'})")
        charset = Charset.load(charset_path)
        contract.check_charset(d, len(charset.chars))
        if not (d / MODEL_FILE).exists():
            raise ContractError(f"{d / MODEL_FILE}: missing (bundle {d})")
        return cls(dir=d, contract=contract, charset=charset)


def write_bundle(dest: str | Path, onnx_path: str | Path, charset_path: str | Path,
                 contract: ModelContract) -> ModelBundle:
    """Make ``dest`` a bundle: copy the ONNX file and charset, stamp the charset's hash into the
    contract, write ``model.json``, then load it back (so a bundle that does not load is never left
    looking finished: the contract is written last)."""
    import shutil  # noqa: PLC0415

    from .contract import CONTRACT_FILE, file_sha256  # noqa: PLC0415

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / CONTRACT_FILE).unlink(missing_ok=True)
    if Path(onnx_path).resolve() != (dest / MODEL_FILE).resolve():
        shutil.copyfile(onnx_path, dest / MODEL_FILE)
    charset_dst = dest / contract.output.charset
    if Path(charset_path).resolve() != charset_dst.resolve():
        shutil.copyfile(charset_path, charset_dst)
    contract = contract.model_copy(update={"output": contract.output.model_copy(
        update={"charset_sha256": file_sha256(charset_dst)})})
    contract.save(dest)
    return ModelBundle.load(dest)
