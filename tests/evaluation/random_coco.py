"""Small random COCO box problems and the pycocotools reference evaluation, shared by the evaluation tests.

The problems hold what makes pycocotools' bookkeeping subtle: images without annotations (with and without
detections), crowd boxes, classes confined to some sizes (so they have no ground truth in other ranges), a class
with detections but no ground truth, objects exactly on range borders (8², 16², 32² px), an ``area`` field that
differs from the box area (mask-like), tied scores, and non-contiguous image and category ids.
"""
import contextlib
import copy
import io

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def random_coco_problem(seed: int, num_images: int = 24, num_classes: int = 5, max_dets_per_image: int = 40,
                        first_ann_id: int = 1):
    """A COCO annotation dict and a results list (``image_id, category_id, bbox, score``)."""
    rng = np.random.default_rng(seed)
    cat_ids = [3 * k + 2 for k in range(num_classes)]
    # sqrt-area limits per class: class 0 tiny only, class 1 large only, the last class never has ground truth
    side_limits = [(2, 16), (40, 250)] + [(2, 250)] * (num_classes - 2)
    images, anns, dets = [], [], []
    for i in range(num_images):
        img_id = 5 * i + 11
        images.append(dict(id=img_id, width=640, height=480, file_name=f'{img_id}.jpg'))
        num_obj = 0 if rng.random() < 0.2 else int(rng.integers(1, 12))
        cls = rng.integers(0, num_classes - 1, num_obj)
        lo, hi = np.array(side_limits)[cls].T
        side = np.exp(rng.uniform(np.log(lo), np.log(hi)))
        aspect = np.exp(rng.uniform(-0.5, 0.5, num_obj))
        w, h = side * aspect, side / aspect
        border = rng.random(num_obj) < 0.15  # exactly on a range border
        w[border] = h[border] = rng.choice([8.0, 16.0, 32.0], border.sum())
        x, y = rng.uniform(0, 500, num_obj), rng.uniform(0, 380, num_obj)
        boxes = np.round(np.stack([x, y, w, h], 1), 1)
        boxes[border, 2:] = w[border, None]
        for j in range(num_obj):
            crowd = rng.random() < 0.1
            box = boxes[j].copy()
            if crowd:
                box[2:] *= 2.5
            area = float(box[2] * box[3]) if border[j] else float(box[2] * box[3] * rng.uniform(0.5, 1.0))
            anns.append(dict(id=first_ann_id + len(anns), image_id=img_id, category_id=cat_ids[cls[j]],
                             bbox=box.tolist(), area=area, iscrowd=int(crowd)))
        # detections: jittered copies (some of the wrong class, some inside crowds), background boxes;
        # images without objects get only background
        num_dets = int(rng.integers(0, max_dets_per_image + 1))
        src = rng.integers(0, num_obj, int(0.7 * num_dets)) if num_obj else np.zeros(0, np.int64)
        near = boxes[src] + rng.normal(0, 0.15, (len(src), 4)) * np.repeat(boxes[src, 2:], 2, axis=1)
        near_cls = np.where(rng.random(len(src)) < 0.8, cls[src], rng.integers(0, num_classes, len(src)))
        num_bg = num_dets - len(src)
        bg = np.c_[rng.uniform(0, 600, num_bg), rng.uniform(0, 440, num_bg),
                   np.exp(rng.uniform(np.log(2), np.log(200), (num_bg, 2)))]
        all_boxes = np.concatenate([near, bg])
        all_boxes[:, 2:] = np.maximum(all_boxes[:, 2:], 0.5)
        all_cls = np.concatenate([near_cls, rng.integers(0, num_classes, num_bg)])
        scores = np.round(rng.uniform(0.01, 1.0, len(all_boxes)), 2)  # ties
        for b, c, s in zip(np.round(all_boxes, 2), all_cls, scores):
            dets.append(dict(image_id=img_id, category_id=cat_ids[c], bbox=b.tolist(), score=float(s)))
    categories = [dict(id=c, name=f'class{k}') for k, c in enumerate(cat_ids)]
    return dict(images=images, annotations=anns, categories=categories), dets


def box_area_gt(gt_dict: dict) -> dict:
    """The annotation dict with every ``area`` replaced by the box's ``w * h``."""
    gt_dict = copy.deepcopy(gt_dict)
    for ann in gt_dict['annotations']:
        ann['area'] = ann['bbox'][2] * ann['bbox'][3]
    return gt_dict


def coco_api(gt_dict: dict) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt_dict)
        coco.createIndex()
    return coco


def pycocotools_eval(gt_dict: dict, dets: list, area_ranges=None, max_dets=None, iou_thrs=None) -> COCOeval:
    """pycocotools' ``COCOeval`` after ``evaluate()`` + ``accumulate()`` (and ``summarize()`` on default params).

    Args:
        area_ranges (dict, optional): ``{label: (lo, hi)}`` replacing ``params.areaRng / areaRngLbl``.
        max_dets (list, optional): ``params.maxDets``.
        iou_thrs (array, optional): ``params.iouThrs``.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = coco_api(gt_dict)
        coco_dt = coco_gt.loadRes(copy.deepcopy(dets))
        coco_eval = COCOeval(coco_gt, coco_dt, 'bbox')
        default = area_ranges is None and max_dets is None and iou_thrs is None
        if area_ranges is not None:
            coco_eval.params.areaRng = [list(r) for r in area_ranges.values()]
            coco_eval.params.areaRngLbl = list(area_ranges)
        if max_dets is not None:
            coco_eval.params.maxDets = list(max_dets)
        if iou_thrs is not None:
            coco_eval.params.iouThrs = np.asarray(iou_thrs, dtype=np.float64)
        coco_eval.evaluate()
        coco_eval.accumulate()
        if default:
            coco_eval.summarize()
    return coco_eval


def mean_valid(values: np.ndarray) -> float:
    """pycocotools' summary mean (entries > -1; -1 when none)."""
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0
