"""A data engine of training lines that look like real captures (issue 16).

One module per source, one API (``engine.DataEngine``) that yields ``(bgr_uint8, text)``:

- ``pillow_lines``: the Pillow line renderer (``pruning.training.render.LineRenderer``) for
  breadth (every charset class, rare characters, random strings), wrapped, not modified;
- ``html_pages``: real typesetting -- HTML pages from templates (prose, tables, forms,
  invoices, receipts, chat bubbles, cards, notifications, settings, code) rendered by
  headless Chromium in Debian fonts (never the held-out families), with line boxes and
  texts read from the DOM; pages are cached under ``data/dataengine/pages/``;
- ``camera``: a camera model applied to whole pages before cropping (perspective,
  rotation, downscale to photo glyph sizes, blur, light, colour casts, paper, noise,
  JPEG) and a milder screenshot path; both return the homography page -> image;
- ``crops``: lines cut the way ``slim_ocr.detector.detect_lines`` cuts them (deskewed,
  margins 0.25 h / 0.15 h) with jitter (loose crops, neighbour fragments, residual tilt);
- ``smallprint``: a line-level degradation of any source's lines into soft, tinted small print
  (the mix key ``smallprint``);
- ``engine``: the mix of sources, determinism by seed, prepared lines / batches at any
  model contract (``slim_ocr.contract.InputSpec``) and a torch ``IterableDataset``;
- ``contact_sheet``: ``python -m pruning.dataengine.contact_sheet --out reports/dataengine/``.
"""
__all__ = ["DataEngine", "EngineDataset", "lines"]


def __getattr__(name):  # lazy: ``python -m pruning.dataengine.html_pages`` needs no engine imports
    if name in __all__:
        from pruning.dataengine import engine

        return getattr(engine, name)
    raise AttributeError(name)
