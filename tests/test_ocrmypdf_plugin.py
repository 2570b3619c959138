"""The OCRmyPDF engine plugin, end to end: ``ocrmypdf --plugin slim_ocr.ocrmypdf_plugin in.pdf
out.pdf`` with Tesseract absent from PATH (the plugin blocks OCRmyPDF's Tesseract plugin).
Needs ocrmypdf (requirements-dev.txt) and Debian's ghostscript and qpdf."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from test_documents import PAGES, assert_pages_read, doc_files, needs_pdftotext, pdftotext  # noqa: F401

pytest.importorskip("ocrmypdf")
pytestmark = [
    pytest.mark.slow,
    needs_pdftotext,
    pytest.mark.skipif(not (shutil.which("gs") and shutil.which("qpdf")),
                       reason="OCRmyPDF needs Debian's ghostscript and qpdf (apt-get install ghostscript qpdf)"),
]


def ocrmypdf(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run OCRmyPDF with a PATH that has Ghostscript and qpdf but no Tesseract."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("gs", "qpdf"):
        link = bin_dir / tool
        if not link.exists():
            link.symlink_to(shutil.which(tool))
    env = {**os.environ, "PATH": str(bin_dir), "OCR_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "ocrmypdf", "--plugin", "slim_ocr.ocrmypdf_plugin", "-j", "1", *args],
                          capture_output=True, text=True, timeout=240, cwd=REPO, env=env)


@pytest.mark.parametrize("renderer", ["auto", "sandwich"])
def test_ocrmypdf_makes_a_searchable_pdf_with_our_engine(doc_files, tmp_path, renderer):
    """auto: OCRmyPDF renders our hOCR (generate_hocr); sandwich: it grafts our text-only page
    (generate_pdf). Either way the output's text is the source's, page by page."""
    out = tmp_path / f"out-{renderer}.pdf"
    r = ocrmypdf(tmp_path, "--pdf-renderer", renderer, "--output-type", "pdf", str(doc_files.scan), str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    texts = [t for t in pdftotext(out).split("\f") if t.strip()]
    assert_pages_read(texts)
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, timeout=60).stdout
    assert "Slim OCR" in info                                  # the engine's creator tag


def test_ocrmypdf_pdfa_output_and_engine_choice(doc_files, tmp_path):
    """The default PDF/A output (OCRmyPDF may rewrite the file with Ghostscript) keeps the
    text; ``--ocr-engine slim`` names our engine explicitly."""
    out = tmp_path / "out.pdf"
    r = ocrmypdf(tmp_path, "--ocr-engine", "slim", "--pages", "2", str(doc_files.scan), str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    pages = pdftotext(out).split("\f")
    assert not pages[0].strip() and not pages[2].strip()     # only page 2 was OCRed
    assert_pages_read([pages[1]], pages=[PAGES[1]])


def test_ocrmypdf_refuses_text_pages_and_unknown_models(doc_files, tmp_path):
    r = ocrmypdf(tmp_path, str(doc_files.text_pdf), str(tmp_path / "a.pdf"))
    assert r.returncode == 6 and "already has text" in r.stderr     # OCRmyPDF's own rule (exit 6)
    r = ocrmypdf(tmp_path, "--slim-model", "no-such-model", str(doc_files.scan), str(tmp_path / "b.pdf"))
    assert r.returncode != 0 and "no-such-model" in r.stderr
