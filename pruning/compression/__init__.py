"""Structured compression of a recogniser: sensitivity -> channel plan -> surgery ->
distillation -> ONNX -> INT8 -> report -> ship.

* ``core/``: what pruning *is* -- channel groups (``groups``), surgery into real smaller
  layers (``surgery``), the channel plan (``plan``);
* ``stages/``: one module per stage, each with its typed settings (``SensitivitySettings``,
  ``PlanSettings``, ...) and a ``run(cfg)``; ``artefacts`` and ``measure`` are what the
  stages share (files passed between them; cost, latency and accuracy);
* ``pipeline``: runs the stages (``python -m pruning.compression.pipeline --stages ...``),
  ``settings``: the typed settings and the command line built from them.
"""
