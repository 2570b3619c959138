"""The Pillow source: ``pruning.training.render.LineRenderer`` (wrapped, not modified) on texts
of ``pruning.training.textgen.TextSampler`` -- breadth: every charset class, rare Hanzi,
random strings, the renderer's own augmentations. Lines come out as BGR (three equal
channels) so every source has the same output type."""
from __future__ import annotations

import cv2
import numpy as np

from pruning.dataengine.common import default_charset, label_of
from pruning.dataengine.texts import PageTexts


class PillowSource:
    name = "pillow"

    def __init__(self, charset=None, max_units: float = 30.0, texts: PageTexts | None = None, augment: bool = True):
        from pruning.training.render import LineRenderer

        self.cs = charset or default_charset()
        self.texts = texts or PageTexts()  # guards the corpus files and packages
        self.sampler = self.texts.s
        self.renderer = LineRenderer(held_out=False, augment=augment)
        self.max_units = max_units

    def produce(self, rng: np.random.Generator, max_units: float | None = None) -> list[tuple[np.ndarray, str]]:
        mu = self.max_units if max_units is None else max_units
        for _ in range(4):
            text = self.sampler.sample(rng, mu)
            label = label_of(text, self.cs)
            if not label:
                continue
            try:
                gray = self.renderer.render(label, rng)
            except ValueError:  # no training face covers the text
                continue
            return [(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), label)]
        return []
