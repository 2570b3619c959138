"""Slim OCR runtime: preprocessing, line detection, ONNX recognition, CTC decoding.

Torch-free on purpose: this package is what the Lambda ships. The training code in
``pruning/`` imports its preprocessing and charset so both sides share one code path.
"""
