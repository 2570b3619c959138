"""Compression of the PP-OCRv6-tiny recogniser family (``pruning.pretrained.PPOCRv6TinyRec``).

* ``groups``: the channel groups (residual chains, 1x1-pair hidden, SE hidden, stem, neck,
  head rank, classes) and the config a set of widths gives;
* ``surgery``: keep a subset of each group -> a real smaller module of the same class, with
  optional mean compensation of the removed channels;
* ``importance``: BN-gamma, L1 and first-order Taylor channel scores, and a keep plan;
* ``head``: low-rank factorisation of the fused fc1 -> fc2 head (plain / data-aware SVD) and
  class restriction;
* ``height``: the squeezed 32-px student (frames stay aligned with the 48-px teacher);
* ``lines``: rendered training lines labelled in the PP-OCR charset (never the real set);
* ``evaluate``: held-out-font synthetic + real-document accuracy (measuring only);
* ``distill``: per-frame KL + CTC self-distillation with checkpoints and resume;
* ``students``: the probe's plans (which groups, which ratios) built into students;
* ``probe``: the command line of the probe (``python -m pruning.compression.ppocr.probe``),
  ``report``: its tables and curves in ``reports/ppocr/``.
"""
