"""The ``slim-ocr`` command line (slim_ocr.cli; ``python -m slim_ocr``): formats, outputs,
directories, progress and the exit codes scripts rely on (0 ok, 1 some inputs failed, 2 usage)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from test_documents import PAGES, assert_pages_read, doc_files, needs_pdftotext, pdftotext  # noqa: F401

from slim_ocr.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["--threads", "1", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_txt_to_stdout_pages_separated_by_form_feeds(capsys, doc_files):
    rc, out, err = run_cli(capsys, doc_files.scan)
    assert rc == 0, err
    assert_pages_read(out.split("\f"))
    rc, out, _ = run_cli(capsys, doc_files.tiff, "--pages", "2-3")
    assert rc == 0 and len(out.split("\f")) == 2
    assert_pages_read(out.split("\f"), pages=PAGES[1:])


def test_json_hocr_and_pdf_files(capsys, doc_files, tmp_path):
    rc, _, err = run_cli(capsys, doc_files.scan, "-o", tmp_path / "scan.json")   # format from the extension
    assert rc == 0, err
    d = json.loads((tmp_path / "scan.json").read_text(encoding="utf-8"))
    assert d["success"] and [p["page"] for p in d["pages"]] == [1, 2, 3]
    assert_pages_read([p["text"] for p in d["pages"]])

    rc, _, _ = run_cli(capsys, doc_files.scan, "--pages", "1", "-f", "hocr", "-o", tmp_path / "scan.html")
    hocr = (tmp_path / "scan.html").read_text(encoding="utf-8")
    assert rc == 0 and hocr.count("class=\"ocr_page\"") == 1 and "ocrx_word" in hocr

    rc, out, _ = run_cli(capsys, doc_files.png, "--format", "json")
    assert rc == 0 and json.loads(out)["pages"][0]["page"] == 1


@needs_pdftotext
def test_pdf_output(capsys, doc_files, tmp_path):
    out = tmp_path / "searchable.pdf"
    rc, _, err = run_cli(capsys, doc_files.scan, "-o", out, "--dpi", "200")
    assert rc == 0, err
    text = pdftotext(out)
    assert_pages_read([t for t in text.split("\f") if t.strip()])


def test_directories_recursive_and_several_inputs(capsys, doc_files, tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(doc_files.tiff, src / "sub" / "scan.tif")
    shutil.copy(doc_files.png, src / "page2.png")
    shutil.copy(doc_files.png, src / "page2.PNG.txt")        # not a supported extension: ignored
    shutil.copy(doc_files.scan, src / "scan.pdf")
    out = tmp_path / "out"
    rc, _, err = run_cli(capsys, src, "-o", out, "-q")
    assert rc == 0, err
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["page2.txt", "scan.txt", "sub/scan.txt"]
    assert_pages_read((out / "sub" / "scan.txt").read_text(encoding="utf-8").split("\f"))
    # several inputs to stdout: txt with headers, json as JSON lines
    rc, text, _ = run_cli(capsys, doc_files.png, doc_files.tiff, "--pages", "1")
    assert rc == 0 and text.count("==> ") == 2
    rc, text, _ = run_cli(capsys, doc_files.png, doc_files.tiff, "-f", "json", "--pages", "1")
    rows = [json.loads(line) for line in text.splitlines()]
    assert rc == 0 and [r["file"] for r in rows] == [str(doc_files.png), str(doc_files.tiff)]
    # two inputs with one stem do not overwrite each other
    both = tmp_path / "both"
    rc, _, _ = run_cli(capsys, doc_files.scan, doc_files.dir / "scan.tif", "-o", both, "--pages", "1")
    assert rc == 0 and sorted(p.name for p in both.iterdir()) == ["scan.pdf.txt", "scan.tif.txt"]


def test_exit_code_1_when_some_inputs_fail(capsys, doc_files, tmp_path):
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    out = tmp_path / "out"
    rc, _, err = run_cli(capsys, doc_files.png, corrupt, tmp_path / "missing.png", "-o", out)
    assert rc == 1
    assert "corrupt.pdf" in err and "[invalid_document]" in err and "missing.png: no such file" in err
    assert [p.name for p in out.iterdir()] == ["page2.txt"]             # the good input is still written
    rc, _, err = run_cli(capsys, doc_files.scan, "--pages", "7")
    assert rc == 1 and "[invalid_pages]" in err
    rc, _, err = run_cli(capsys, doc_files.scan, "--max-pages", "2")
    assert rc == 1 and "[too_many_pages]" in err


@pytest.mark.parametrize("args, message", [
    (["--pages", "3-1"], "--pages"),
    (["--dpi", "5"], "--dpi"),
    (["-f", "pdf"], "needs -o"),
    (["--model", "no-such-model"], "cannot load model"),
    (["--format", "docx"], "invalid choice"),
])
def test_exit_code_2_on_usage_errors(capsys, doc_files, args, message):
    rc, _, err = run_cli(capsys, doc_files.png, *args)
    assert rc == 2 and message in err


def test_exit_code_2_when_no_inputs_found(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("nothing to read")
    rc, _, err = run_cli(capsys, tmp_path)
    assert rc == 2 and "no inputs found" in err
    assert main([]) == 2


def test_help_documents_the_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for needle in ("exit status", "0  every input", "1  some inputs failed", "2  usage error", "--pages", "--format"):
        assert needle in out


def test_progress_plain_counter_without_tqdm(capsys, doc_files, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)              # "not installed"
    rc, _, err = run_cli(capsys, doc_files.tiff, doc_files.png, "--progress")
    assert rc == 0 and "slim-ocr: 4/4 pages" in err
    rc, _, err = run_cli(capsys, doc_files.tiff, "-q")
    assert rc == 0 and err == ""


def test_progress_bar_with_tqdm(capsys, doc_files):
    pytest.importorskip("tqdm")
    rc, _, err = run_cli(capsys, doc_files.tiff, "--progress")
    assert rc == 0 and "/3 [" in err and "page/s" in err           # tqdm's bar


def test_python_dash_m_and_stdin(doc_files):
    env = {**os.environ, "OCR_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "slim_ocr", "-", "--pages", "2"], input=doc_files.scan.read_bytes(),
                       capture_output=True, timeout=120, cwd=REPO, env=env)
    assert r.returncode == 0, r.stderr.decode()
    assert_pages_read([r.stdout.decode("utf-8")], pages=[PAGES[1]])
    r = subprocess.run([sys.executable, "-m", "slim_ocr", "--pages", "x", str(doc_files.png)],
                       capture_output=True, timeout=120, cwd=REPO, env=env)
    assert r.returncode == 2


def test_console_script_entry_point():
    """``slim-ocr`` is declared in function/pyproject.toml (installed by ``pip install -e function``)."""
    import tomllib

    meta = tomllib.loads((REPO / "function" / "pyproject.toml").read_text())
    assert meta["project"]["scripts"]["slim-ocr"] == "slim_ocr.cli:main"
    exe = shutil.which("slim-ocr")
    if exe is None:
        pytest.skip("the slim-ocr script is not installed (pip install -e function)")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "exit status" in r.stdout
    assert Path(exe).exists()
