"""Structured pruning of the CRNN: sensitivity -> BN-gamma channel plan -> surgery ->
distillation -> ONNX -> INT8 -> report. One module per stage, each runnable alone:

    python -m pruning.prune.sensitivity --base runs/base/best.pt     # stage 1
    python -m pruning.prune.plan        --base runs/base/best.pt     # stage 2
    python -m pruning.prune.surgery     --base runs/base/best.pt     # stage 3
    python -m pruning.prune.distill     --base runs/base/best.pt     # stage 4
    python -m pruning.prune.export      --base runs/base/best.pt     # stage 5
    python -m pruning.prune.quantize    --base runs/base/best.pt     # stage 6
    python -m pruning.prune.report      --base runs/base/best.pt     # stage 7
    python -m pruning.prune.pipeline    --base runs/base/best.pt     # all of them

All stages share one set of flags (``common.build_parser``); each reads the artefacts the
previous one left in ``--out`` (JSON, plots, ONNX) and ``--work`` (PyTorch checkpoints).
"""
