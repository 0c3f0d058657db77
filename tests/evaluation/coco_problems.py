"""Small random COCO problems and the pycocotools reference, shared by the evaluation and tool tests."""
import contextlib
import copy
import io

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def make_problem(seed: int, num_images: int = 24, num_cats: int = 5, size: float = 200.0, max_objects: int = 12):
    """A COCO gt dict and results list exercising pycocotools' edge cases.

    Images without annotations (the last three, which still get detections), a class without any ground truth and
    classes missing from some size ranges, ~8 % crowd boxes, an ``area`` field smaller than the box (mask-like),
    object sizes from 2 to 150 px, detections jittered around objects (some with the wrong class), background
    detections, scores rounded to one decimal (many ties), non-contiguous ids.
    """
    rng = np.random.default_rng(seed)
    images = [dict(id=int(i), width=int(size), height=int(size)) for i in rng.choice(1000, num_images, replace=False)]
    cats = [dict(id=int(c), name=f'class{c}') for c in rng.choice(100, num_cats, replace=False)]
    anns, dets = [], []
    for img in images[:-3]:
        for _ in range(rng.integers(0, max_objects)):
            side = np.exp(rng.uniform(np.log(2), np.log(150)))
            w, h = side * rng.uniform(0.5, 1.5), side * rng.uniform(0.5, 1.5)
            x, y = rng.uniform(0, size), rng.uniform(0, size)
            # the last class never has ground truth; class 0 only small objects (missing from the large range)
            k = 0 if side < 20 and rng.random() < 0.3 else int(rng.integers(1, num_cats - 1))
            anns.append(dict(id=len(anns) + 1, image_id=img['id'], category_id=cats[k]['id'], bbox=[x, y, w, h],
                             area=w * h * rng.uniform(0.4, 1.0), iscrowd=int(rng.random() < 0.08)))
            for _ in range(rng.integers(0, 4)):
                j = rng.normal(0, 0.15, 4) * [w, h, w, h]
                kd = k if rng.random() < 0.85 else int(rng.integers(num_cats))
                dets.append(dict(image_id=img['id'], category_id=cats[kd]['id'],
                                 bbox=[x + j[0], y + j[1], max(w + j[2], 0.5), max(h + j[3], 0.5)],
                                 score=float(np.round(rng.random(), 1))))
    for img in images:
        for _ in range(rng.integers(0, 5)):
            w, h = np.exp(rng.uniform(0, 5, 2))
            dets.append(dict(image_id=img['id'], category_id=cats[rng.integers(num_cats)]['id'],
                             bbox=[*rng.uniform(0, size, 2).tolist(), float(w), float(h)],
                             score=float(np.round(rng.random(), 1))))
    return dict(images=images, categories=cats, annotations=anns), dets


def coco_from_dict(gt_dict: dict) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt_dict)
        coco.createIndex()
    return coco


def pycocotools_eval(gt_dict: dict, dets: list, summarize: bool = False, **params) -> COCOeval:
    """COCOeval (bbox) evaluate + accumulate (+ summarize) with ``params`` set on ``COCOeval.params``."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = coco_from_dict(gt_dict)
        ev = COCOeval(gt, gt.loadRes(copy.deepcopy(dets)), 'bbox')
        for key, value in params.items():
            setattr(ev.params, key, value)
        ev.evaluate()
        ev.accumulate()
        if summarize:
            ev.summarize()
    return ev


def mean_valid(values: np.ndarray) -> float:
    """pycocotools' summary mean (entries > -1, else -1)."""
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0
