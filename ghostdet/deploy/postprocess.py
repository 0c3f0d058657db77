"""mmdet's dense-head post-processing (score threshold, top-k, min size, class-aware NMS, max detections) as one
traceable function, exported into the graph with the standard ONNX ``NonMaxSuppression`` op.

It reproduces ``BaseDenseHead._predict_by_feat_single`` + ``_bbox_post_process`` (and mmcv's ``batched_nms``):

* per group (a level, or all levels for YOLOv3) the (prior, class) pairs scoring above ``score_thr`` are ranked and
  the best ``nms_pre`` kept: here the top ``min(nms_pre, pairs)`` of all pairs, then the threshold, which keeps the
  same pairs because the pairs above the threshold are a prefix of the ranking;
* score factors multiply in, boxes not wider and taller than ``min_bbox_size`` drop out;
* class-aware NMS by mmcv's coordinate offset per class; the ``max_per_img`` best survivors, best first.

Outputs follow mmdeploy: ``dets`` (B, K, 5) x1, y1, x2, y2, score in input pixels and ``labels`` (B, K), K =
``max_per_img`` (or fewer candidates); unused rows are zeros with label -1.
"""
from typing import Dict, List, Tuple

import torch
from torch import Tensor

from .heads import Candidates


class NonMaxSuppression(torch.autograd.Function):
    """ONNX ``NonMaxSuppression`` (one class, boxes x1, y1, x2, y2): eager mmcv ``nms`` per image, exported as the op.

    Returns the (M, 3) int64 ``selected_indices`` (batch, 0, box) of the ONNX op.
    """

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, iou_threshold: float, score_threshold: float) -> Tensor:
        from mmcv.ops import nms

        selected = []
        for index, (image_boxes, image_scores) in enumerate(zip(boxes, scores[:, 0])):
            candidates = torch.nonzero(image_scores > score_threshold).view(-1)
            _, keep = nms(image_boxes[candidates], image_scores[candidates], iou_threshold)
            keep = candidates[keep]
            selected.append(torch.stack([torch.full_like(keep, index), torch.zeros_like(keep), keep], 1))
        return torch.cat(selected).long()

    @staticmethod
    def symbolic(g, boxes, scores, iou_threshold, score_threshold):
        max_boxes = g.op('Constant', value_t=torch.tensor([2 ** 31 - 1], dtype=torch.long))
        iou = g.op('Constant', value_t=torch.tensor([iou_threshold], dtype=torch.float))
        score = g.op('Constant', value_t=torch.tensor([score_threshold], dtype=torch.float))
        return g.op('NonMaxSuppression', boxes, scores, max_boxes, iou, score, center_point_box_i=0)


def select_candidates(groups: List[Candidates], score_thr: float, nms_pre: int) -> Tuple[Tensor, ...]:
    """Top-k (prior, class) pairs of each group above the threshold: boxes (B, N, 4), scores, labels, valid (B, N)."""
    boxes, scores, labels, valid = [], [], [], []
    for group in groups:
        num_priors, num_classes = group.scores.shape[1:]
        flat = group.scores
        if group.valid is not None:  # masked pairs rank last and fail the threshold
            flat = flat.masked_fill(~group.valid.unsqueeze(-1), -1.0)
        flat = flat.reshape(-1, num_priors * num_classes)
        k = num_priors * num_classes if nms_pre <= 0 else min(nms_pre, num_priors * num_classes)
        top_scores, index = flat.topk(k, dim=1)
        prior = torch.div(index, num_classes, rounding_mode='floor')
        boxes.append(torch.gather(group.boxes, 1, prior.unsqueeze(-1).expand(-1, -1, 4)))
        valid.append(top_scores > score_thr)
        if group.factors is not None:
            top_scores = top_scores * torch.gather(group.factors, 1, prior)
        scores.append(top_scores)
        labels.append(index - prior * num_classes)
    return torch.cat(boxes, 1), torch.cat(scores, 1), torch.cat(labels, 1), torch.cat(valid, 1)


def detections_from_candidates(groups: List[Candidates], test_cfg: Dict) -> Tuple[Tensor, Tensor]:
    """``dets`` (B, K, 5) and ``labels`` (B, K) from the decoded candidates under mmdet's ``test_cfg``."""
    nms_cfg = test_cfg['nms']
    boxes, scores, labels, valid = select_candidates(groups, test_cfg.get('score_thr', 0), test_cfg.get('nms_pre', -1))
    min_size = test_cfg.get('min_bbox_size', -1)
    if min_size >= 0:
        valid = valid & (boxes[..., 2] - boxes[..., 0] > min_size) & (boxes[..., 3] - boxes[..., 1] > min_size)
    if nms_cfg.get('class_agnostic', False):
        nms_boxes = boxes
    else:  # mmcv's batched_nms offset (max + 1 per class), widened for boxes left of / above the origin
        span = boxes.max() - boxes.min().clamp(max=0) + 1
        nms_boxes = boxes + (labels.to(boxes.dtype) * span).unsqueeze(-1)
    # invalid pairs get a score below the op's threshold; valid scores are >= 0
    nms_scores = torch.where(valid, scores, torch.full_like(scores, -1.0)).unsqueeze(1)
    selected = NonMaxSuppression.apply(nms_boxes, nms_scores, float(nms_cfg['iou_threshold']), -0.5)
    kept = torch.zeros_like(scores)
    kept[selected[:, 0], selected[:, 2]] = 1.0
    ranked = torch.where(kept > 0, scores, torch.full_like(scores, -1.0))
    top_k = min(int(test_cfg['max_per_img']), scores.shape[1])
    top_scores, order = ranked.topk(top_k, dim=1)
    found = top_scores > -1.0
    det_boxes = torch.gather(boxes, 1, order.unsqueeze(-1).expand(-1, -1, 4))
    dets = torch.cat([det_boxes, top_scores.unsqueeze(-1)], -1)
    dets = torch.where(found.unsqueeze(-1), dets, torch.zeros_like(dets))
    det_labels = torch.where(found, torch.gather(labels, 1, order), torch.full_like(order, -1))
    return dets, det_labels
