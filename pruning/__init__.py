"""Offline PyTorch code of Slim OCR: ``training`` (charset, corpus, text generation, fonts,
renderer, data loading, model, trainer), ``evaluation`` (the real-document set and its
metrics), ``compression`` (channel groups, importance, surgery; the stage runners).

Imports point one way: ``bench`` -> ``pruning`` -> ``slim_ocr`` (the torch-free runtime in
``function/``, installed as a package: ``pip install -e function``).
"""
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
