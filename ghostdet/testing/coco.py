"""Random COCO box problems and pycocotools' reference evaluation, shared by the evaluation tests and
``tools/analysis_tools/benchmark_eval.py``.

A problem holds what makes COCO's bookkeeping subtle: images without annotations (with and without detections),
crowd boxes, a class confined to tiny and one to large objects (so they have no ground truth in other size ranges),
a class with detections but no ground truth, objects exactly on range borders (8², 16², 32² px), an ``area`` field
smaller than the box (mask-like), tied scores (rounded to 2 decimals) and non-contiguous image and category ids.
"""
import contextlib
import copy
import io
from typing import Mapping, Optional, Sequence, Tuple

import numpy as np

# sqrt-area limits (px) of the size buckets and their shares: COCO val2017's 41 / 34 / 25 % small / medium / large
_BUCKETS = ((2, 32), (32, 96), (96, 400))
_BUCKET_SHARES = (0.41, 0.34, 0.25)


def random_coco_problem(seed: int, num_images: int = 24, num_classes: int = 5, dets_per_image: int = 40,
                        exact_dets: bool = False, mean_objects: float = 5.0, empty_fraction: float = 0.2,
                        crowd_fraction: float = 0.1, first_ann_id: int = 1) -> Tuple[dict, list]:
    """A COCO annotation dict and a results list (``image_id, category_id, bbox, score``).

    Args:
        seed (int): Random seed.
        num_images (int): Images (ids 11, 16, 21, ...).
        num_classes (int): Categories (ids 2, 5, 8, ...); the last one never has ground truth.
        dets_per_image (int): Detections per image: exactly this many with ``exact_dets``, else 0 to this many.
        exact_dets (bool): See ``dets_per_image``.
        mean_objects (float): Mean objects per annotated image (Poisson).
        empty_fraction (float): Share of images without annotations.
        crowd_fraction (float): Share of crowd boxes (drawn 2.5x larger than an object).
        first_ann_id (int): Id of the first annotation (0 exercises pycocotools' "id 0 is no match" quirk).

    Returns:
        tuple: ``(annotation dict, results list)``.
    """
    rng = np.random.default_rng(seed)
    cat_ids = [3 * k + 2 for k in range(num_classes)]
    freq = 1.0 / np.arange(1, num_classes) ** 0.9  # skewed like COCO; the last class has no ground truth
    freq /= freq.sum()
    images, anns, dets = [], [], []
    for i in range(num_images):
        img_id, width, height = 5 * i + 11, 640, int(rng.choice([427, 480, 512]))
        images.append(dict(id=img_id, width=width, height=height, file_name=f'{img_id}.jpg'))
        num_obj = 0 if rng.random() < empty_fraction else max(1, int(rng.poisson(mean_objects)))
        cls = rng.choice(num_classes - 1, size=num_obj, p=freq)
        lo, hi = np.array(_BUCKETS)[rng.choice(3, size=num_obj, p=_BUCKET_SHARES)].T
        lo, hi = np.where(cls == 0, 2, np.where(cls == 1, 40, lo)), np.where(cls == 0, 16, np.where(cls == 1, 250, hi))
        side = np.exp(rng.uniform(np.log(lo), np.log(hi)))
        aspect = np.exp(rng.uniform(-0.5, 0.5, num_obj))
        w, h = side * aspect, side / aspect
        border = (rng.random(num_obj) < 0.15) & (cls >= 2)  # classes 0 and 1 keep to their sizes
        w[border] = h[border] = rng.choice([8.0, 16.0, 32.0], border.sum())
        x, y = rng.uniform(0, width - np.minimum(w, width - 1)), rng.uniform(0, height - np.minimum(h, height - 1))
        boxes = np.round(np.stack([x, y, w, h], 1), 1)
        boxes[border, 2:] = w[border, None]
        crowd = rng.random(num_obj) < crowd_fraction
        area_share = np.where(border, 1.0, rng.uniform(0.5, 1.0, num_obj))
        for j in range(num_obj):
            box = boxes[j].copy()
            if crowd[j]:
                box[2:] *= 2.5
            anns.append(dict(id=first_ann_id + len(anns), image_id=img_id, category_id=cat_ids[cls[j]],
                             bbox=box.tolist(), area=float(box[2] * box[3] * area_share[j]), iscrowd=int(crowd[j])))
        # detections: jittered copies (some of the wrong class, some inside crowds), the rest background boxes
        num_dets = dets_per_image if exact_dets else int(rng.integers(0, dets_per_image + 1))
        src = rng.integers(0, num_obj, int(0.7 * num_dets)) if num_obj else np.zeros(0, np.int64)
        near = boxes[src] + rng.normal(0, 0.12, (len(src), 4)) * np.repeat(boxes[src, 2:], 2, axis=1)
        near_cls = np.where(rng.random(len(src)) < 0.8, cls[src], rng.integers(0, num_classes, len(src)))
        num_bg = num_dets - len(src)
        bg_side = np.exp(rng.uniform(np.log(2), np.log(300), num_bg))
        bg = np.c_[rng.uniform(0, width, num_bg), rng.uniform(0, height, num_bg), bg_side,
                   bg_side * np.exp(rng.uniform(-0.7, 0.7, num_bg))]
        all_boxes = np.round(np.concatenate([near, bg]), 2)
        all_boxes[:, 2:] = np.maximum(all_boxes[:, 2:], 0.5)
        all_cls = np.concatenate([near_cls, rng.integers(0, num_classes, num_bg)])
        scores = np.round(np.concatenate([rng.beta(4, 2, len(src)), rng.beta(1, 5, num_bg)]), 2)
        dets += [dict(image_id=img_id, category_id=cat_ids[c], bbox=b.tolist(), score=float(s))
                 for b, c, s in zip(all_boxes, all_cls, scores)]
    categories = [dict(id=c, name=f'class{k}') for k, c in enumerate(cat_ids)]
    return dict(images=images, annotations=anns, categories=categories), dets


def coco_val_like_problem(num_images: int = 5000, dets_per_image: int = 100, num_classes: int = 80,
                          seed: int = 0) -> Tuple[dict, list]:
    """A problem the size of COCO val2017: 5,000 images, ~7.3 objects per image (1 % of images without any), 80
    classes, 1 % crowd boxes and exactly ``dets_per_image`` detections per image."""
    return random_coco_problem(seed, num_images=num_images, num_classes=num_classes, dets_per_image=dets_per_image,
                               exact_dets=True, mean_objects=7.3, empty_fraction=0.01, crowd_fraction=0.01)


def box_area_gt(gt_dict: dict) -> dict:
    """The annotation dict with every ``area`` replaced by the box's ``w * h``."""
    gt_dict = copy.deepcopy(gt_dict)
    for ann in gt_dict['annotations']:
        ann['area'] = ann['bbox'][2] * ann['bbox'][3]
    return gt_dict


def pycocotools_coco(gt_dict: dict):
    """pycocotools' ``COCO`` built from a dict, without its progress prints (the dict is copied)."""
    from pycocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt_dict)
        coco.createIndex()
    return coco


def pycocotools_eval(gt_dict: dict, dets: list, area_ranges: Optional[Mapping[str, Sequence[float]]] = None,
                     max_dets: Optional[Sequence[int]] = None, iou_thrs: Optional[Sequence[float]] = None):
    """pycocotools' ``COCOeval`` after ``evaluate()``, ``accumulate()`` and ``summarize()``.

    Empty results are evaluated as a results set without annotations (``loadRes([])`` itself fails).

    Args:
        gt_dict (dict): COCO annotation dict.
        dets (list): COCO results list.
        area_ranges (dict, optional): ``{label: (lo, hi)}`` replacing ``params.areaRng / areaRngLbl``.
        max_dets (list, optional): ``params.maxDets``.
        iou_thrs (array, optional): ``params.iouThrs``.
    """
    from pycocotools.cocoeval import COCOeval
    coco_gt = pycocotools_coco(gt_dict)
    with contextlib.redirect_stdout(io.StringIO()):
        if dets:
            coco_dt = coco_gt.loadRes(copy.deepcopy(dets))
        else:
            coco_dt = pycocotools_coco(dict(gt_dict, annotations=[]))
        coco_eval = COCOeval(coco_gt, coco_dt, 'bbox')
        if area_ranges is not None:
            coco_eval.params.areaRng = [list(r) for r in area_ranges.values()]
            coco_eval.params.areaRngLbl = list(area_ranges)
        if max_dets is not None:
            coco_eval.params.maxDets = list(max_dets)
        if iou_thrs is not None:
            coco_eval.params.iouThrs = np.asarray(iou_thrs, dtype=np.float64)
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    return coco_eval


def mean_valid(values: np.ndarray) -> float:
    """pycocotools' summary mean (entries > -1; -1 when none)."""
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0
