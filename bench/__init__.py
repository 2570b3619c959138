"""Benchmarks and the real-document evaluation set (not shipped with the Lambda).

``python -m bench.build_eval_set`` builds ``data/eval/`` from Debian documentation
packages; ``python -m bench.run_bench`` scores our ONNX models and peer OCR systems
on it side by side.
"""
