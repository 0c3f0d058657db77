"""Box decoding of each exportable dense head, written so that it traces into a static ONNX graph.

A decoder turns a head's raw outputs for one batch into candidate groups: for every prior its scores per class,
its decoded box in input pixels and, where the head has one, a score factor (YOLOv3's objectness) and a validity
mask. ``postprocess.detections_from_candidates`` then applies the test_cfg exactly as mmdet's ``predict_by_feat``
does. The decoders call mmdet's own coder functions with ``max_shape=None`` and clip afterwards, because mmdet
3.3.0's clipping branches under ``torch.onnx.is_in_onnx_export()`` import a module that no longer exists.
"""
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import delta2bbox
from mmdet.structures.bbox import distance2bbox
from torch import Tensor


class Candidates(NamedTuple):
    """Per-prior predictions of one group of levels (mmdet selects its top-k per group).

    scores: (B, A, C) class scores after the head's activation; boxes: (B, A, 4) x1, y1, x2, y2 in input pixels;
    factors: (B, A) multiplied into the scores after the top-k, or None; valid: (B, A) bool mask applied before
    the top-k, or None.
    """
    scores: Tensor
    boxes: Tensor
    factors: Optional[Tensor] = None
    valid: Optional[Tensor] = None


HEAD_DECODERS: Dict[str, Callable] = {}


def register_decoder(*head_types: str):
    def wrap(fn):
        for name in head_types:
            HEAD_DECODERS[name] = fn
        return fn
    return wrap


def find_decoder(head) -> Optional[Callable]:
    """The decoder for exactly ``head``'s class (a subclass may change how predictions are made), or None."""
    return HEAD_DECODERS.get(type(head).__name__)


# Where boxes are clipped: one (H, W) for the batch, or a (B, 2) tensor of each image's (h, w) (a graph input).
ClipShape = Union[Tuple[int, int], Tensor]


def clip_boxes(boxes: Tensor, shape: ClipShape) -> Tensor:
    """(B, A, 4) boxes clipped to [0, w] x [0, h], as mmdet's coders clip to ``img_shape``."""
    if isinstance(shape, Tensor):
        bound = shape.to(boxes.dtype).flip(-1).repeat(1, 2).unsqueeze(1)  # (B, 1, 4): w, h, w, h
        return torch.min(boxes.clamp(min=0), bound)
    height, width = shape
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([x1.clamp(0, width), y1.clamp(0, height), x2.clamp(0, width), y2.clamp(0, height)], -1)


def _flat_level(x: Tensor, channels: int) -> Tensor:
    """(B, A*channels, H, W) -> (B, H*W*A, channels), mmdet's prior order."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, channels)


def _class_scores(head, cls_score: Tensor) -> Tensor:
    scores = _flat_level(cls_score, head.cls_out_channels)
    return scores.sigmoid() if head.use_sigmoid_cls else scores.softmax(-1)[..., :-1]


def _priors(head, outs: Sequence[Tensor]) -> List[Tensor]:
    return head.prior_generator.grid_priors([o.shape[-2:] for o in outs], dtype=outs[0].dtype,
                                            device=outs[0].device)


def _batched(priors: Tensor, like: Tensor) -> Tensor:
    """(A, k) priors -> (B*A, k) matching ``like`` (B, A, .) flattened, for mmdet's 2-D coder functions."""
    return priors.unsqueeze(0).expand(like.shape[0], -1, -1).reshape(-1, priors.shape[-1])


def head_clips_boxes(head) -> bool:
    """Whether mmdet clips this head's decoded boxes to the image (``img_shape``)."""
    return bool(getattr(head.bbox_coder, 'clip_border', False)) and type(head.bbox_coder).__name__ != 'YOLOBBoxCoder'


@register_decoder('RetinaHead', 'SSDHead', 'RTMDetHead', 'RTMDetSepBNHead')
def decode_dense_head(head, outs, shape: ClipShape) -> List[Candidates]:
    """mmdet's ``BaseDenseHead._predict_by_feat_single``: one top-k per level, delta or distance coders."""
    cls_scores, bbox_preds = outs[:2]
    coder = head.bbox_coder
    groups = []
    for cls_score, bbox_pred, priors in zip(cls_scores, bbox_preds, _priors(head, cls_scores)):
        scores = _class_scores(head, cls_score)
        deltas = _flat_level(bbox_pred, coder.encode_size)
        flat = deltas.reshape(-1, coder.encode_size)
        if type(coder).__name__ == 'DistancePointBBoxCoder':
            boxes = distance2bbox(_batched(priors[:, :2], deltas), flat)
        elif type(coder).__name__ == 'DeltaXYWHBBoxCoder':
            boxes = delta2bbox(_batched(priors, deltas), flat, coder.means, coder.stds, None, 16 / 1000,
                               False, coder.add_ctr_clamp, coder.ctr_clamp)
        else:
            raise NotImplementedError(f'box coder {type(coder).__name__} is not exportable')
        boxes = boxes.reshape(deltas.shape[0], -1, 4)
        groups.append(Candidates(scores, clip_boxes(boxes, shape) if coder.clip_border else boxes))
    return groups


@register_decoder('GFLHead')
def decode_gfl_head(head, outs, shape: ClipShape) -> List[Candidates]:
    """mmdet's ``GFLHead._predict_by_feat_single``: integral of the box distribution times the stride."""
    cls_scores, bbox_preds = outs
    groups = []
    for cls_score, bbox_pred, priors, stride in zip(cls_scores, bbox_preds, _priors(head, cls_scores),
                                                     head.prior_generator.strides):
        scores = _class_scores(head, cls_score)
        distances = head.integral(bbox_pred.permute(0, 2, 3, 1)) * stride[0]
        boxes = distance2bbox(_batched(head.anchor_center(priors), scores), distances)
        boxes = boxes.reshape(scores.shape[0], -1, 4)
        groups.append(Candidates(scores, clip_boxes(boxes, shape) if head.bbox_coder.clip_border else boxes))
    return groups


@register_decoder('YOLOV3Head')
def decode_yolov3_head(head, outs, shape: ClipShape) -> List[Candidates]:
    """mmdet's ``YOLOV3Head.predict_by_feat``: one top-k over all levels on the class scores, objectness >=
    ``conf_thr`` as a mask before it and multiplied into the scores after it; boxes are not clipped."""
    pred_maps = outs[0]
    preds, strides = [], []
    for pred, stride in zip(pred_maps, head.featmap_strides):
        pred = _flat_level(pred, head.num_attrib)
        preds.append(pred)
        strides.append(pred.new_full((pred.shape[1], 1), float(stride)))
    preds = torch.cat(preds, 1)
    anchors = torch.cat(_priors(head, pred_maps))
    box_preds = torch.cat([preds[..., :2].sigmoid(), preds[..., 2:4]], -1)
    boxes = head.bbox_coder.decode(_batched(anchors, preds), box_preds.reshape(-1, 4),
                                   _batched(torch.cat(strides), preds)).reshape(preds.shape[0], -1, 4)
    objectness = preds[..., 4].sigmoid()
    conf_thr = head.test_cfg.get('conf_thr', -1)
    valid = objectness >= conf_thr if conf_thr > 0 else None
    return [Candidates(preds[..., 5:].sigmoid(), boxes, objectness, valid)]


def supported_heads() -> List[str]:
    return sorted(HEAD_DECODERS)
