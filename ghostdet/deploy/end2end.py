"""The exported graph: normalised image batch in, mmdeploy's ``dets`` / ``labels`` out (or the head's raw maps)."""
from typing import Tuple

import torch.nn as nn
from mmengine.config import ConfigDict
from torch import Tensor

from .heads import find_decoder
from .postprocess import detections_from_candidates


class End2EndDetector(nn.Module):
    """A single-stage mmdet detector in inference form with its box decoding and post-processing.

    Args:
        detector: the mmdet detector (``extract_feat`` + ``bbox_head``), eval mode, inference form.
        input_shape: (H, W) of the static input; boxes are clipped to it where the head clips.
        outputs: ``'detections'`` (``dets``, ``labels``), ``'maps'`` (the head's raw maps, all levels: the network
            alone) or ``'both'`` (detections, then maps: one graph for parity checks of both).
    """

    def __init__(self, detector: nn.Module, input_shape: Tuple[int, int], outputs: str = 'detections'):
        super().__init__()
        self.detector = detector
        self.head = detector.bbox_head
        self.decoder = find_decoder(self.head)
        self.input_shape = tuple(input_shape)
        self.test_cfg = ConfigDict(self.head.test_cfg)
        if outputs not in ('detections', 'maps', 'both'):
            raise ValueError(f'outputs must be detections, maps or both, got {outputs!r}')
        self.outputs = outputs

    def forward(self, input: Tensor):
        outs = self.head(self.detector.extract_feat(input))
        maps = tuple(level for per_level in outs for level in per_level)
        if self.outputs == 'maps':
            return maps
        detections = detections_from_candidates(self.decoder(self.head, outs, self.input_shape), self.test_cfg)
        return detections if self.outputs == 'detections' else (*detections, *maps)
