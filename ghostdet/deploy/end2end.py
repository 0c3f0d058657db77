"""The exported graph: normalised image batch in, mmdeploy's ``dets`` / ``labels`` out (or the head's raw maps);
and the same post-processing on the host for runtimes whose graphs cannot hold it."""
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from torch import Tensor

from .heads import find_decoder, head_clips_boxes
from .postprocess import detections_from_candidates
from .preprocess import as_config

# The graph's second input: each image's (h, w) inside the padded input, where mmdet clips boxes before NMS.
IMG_SHAPE_NAME = 'img_shape'


def clip_shape_feed(batch: np.ndarray, img_shape: Optional[np.ndarray]) -> np.ndarray:
    """The graph's ``img_shape`` input: each image's (h, w) as given, by default the whole (padded) input."""
    if img_shape is None:
        return np.tile(np.asarray(batch.shape[2:], dtype=np.float32), (batch.shape[0], 1))
    return np.ascontiguousarray(img_shape, dtype=np.float32).reshape(batch.shape[0], 2)


class End2EndDetector(nn.Module):
    """A single-stage mmdet detector in inference form with its box decoding and post-processing.

    Args:
        detector: the mmdet detector (``extract_feat`` + ``bbox_head``), eval mode, inference form.
        input_shape: (H, W) of the static input; boxes are clipped to it where the head clips and no
            ``img_shape`` is given.
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

    @property
    def takes_img_shape(self) -> bool:
        """Whether ``forward`` uses ``img_shape``: detections of a head that clips boxes before NMS."""
        return self.outputs != 'maps' and head_clips_boxes(self.head)

    def forward(self, input: Tensor, img_shape: Optional[Tensor] = None):
        """``input`` (B, 3, H, W); ``img_shape`` (B, 2) float: each image's (h, w) before padding (mmdet's
        ``img_shape``), default: the whole input. Boxes are clipped to it before NMS, as mmdet does."""
        outs = self.head(self.detector.extract_feat(input))
        maps = tuple(level for per_level in outs for level in per_level)
        if self.outputs == 'maps':
            return maps
        clip_to = self.input_shape if img_shape is None else img_shape
        detections = detections_from_candidates(self.decoder(self.head, outs, clip_to), self.test_cfg)
        return detections if self.outputs == 'detections' else (*detections, *maps)


class HostPostprocess:
    """The graph's decoding and post-processing (the same functions, run eagerly) on the raw maps of a runtime that
    cannot hold them in its graph (ncnn has no ``NonMaxSuppression``), so its detections are the graph's.

    Args:
        session: a runtime session returning the head's raw maps (``outputs='maps'`` order).
        info (dict): the export's ``deploy.json``: ``head_cfg`` (the head is built from it for its priors and box
            coder; no weights), ``test_cfg`` and ``input_shape``.
    """

    def __init__(self, session, info: Dict):
        from mmdet.registry import MODELS
        from mmengine.registry import init_default_scope
        init_default_scope('mmdet')
        self.session = session
        self.head = MODELS.build(dict(as_config(info['head_cfg']), test_cfg=info['test_cfg'])).eval()
        self.decoder = find_decoder(self.head)
        self.test_cfg = ConfigDict(info['test_cfg'])
        self.input_shape = tuple(info['input_shape'])
        self.levels = len(self.head.prior_generator.strides)

    def __call__(self, batch: np.ndarray, img_shape: Optional[np.ndarray] = None) -> List[np.ndarray]:
        maps = [torch.from_numpy(m) for m in self.session(batch)]
        outs = tuple(maps[i:i + self.levels] for i in range(0, len(maps), self.levels))
        clip_to = torch.from_numpy(clip_shape_feed(batch, img_shape)) if head_clips_boxes(self.head) else \
            self.input_shape
        with torch.no_grad():
            dets, labels = detections_from_candidates(self.decoder(self.head, outs, clip_to), self.test_cfg)
        return [dets.numpy(), labels.numpy()]
