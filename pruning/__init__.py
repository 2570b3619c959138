"""Offline training and compression of the Slim OCR recogniser (PyTorch).

The runtime package ``slim_ocr`` lives in ``function/`` (it is what the Lambda
ships); training imports its preprocessing and charset rather than copying them.
"""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_FUNCTION_DIR = str(REPO / "function")
if _FUNCTION_DIR not in sys.path:
    sys.path.insert(0, _FUNCTION_DIR)
