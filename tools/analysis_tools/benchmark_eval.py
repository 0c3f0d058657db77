"""Time ghostdet's box evaluation against pycocotools' COCOeval on a COCO val2017-sized synthetic problem.

    python tools/analysis_tools/benchmark_eval.py [--num-images 5000] [--dets-per-image 100] [--seed 0]

The problem mimics COCO val2017: 5,000 images (about 1 % without annotations), ~7.3 boxes per image (~36k),
80 classes with a skewed frequency, 41 / 34 / 25 % small / medium / large boxes, 1 % crowd boxes, an ``area``
field smaller than the box (mask area) and 100 detections per image (jittered copies of the objects, some with
the wrong class, plus background boxes; scores rounded to 3 decimals, so ties occur). It prints the time of
``COCOeval.evaluate() + accumulate()`` and of ghostdet (array extraction from the same COCO objects + evaluation,
best of ``--repeats``), their ratio, the extra cost of the AI-TOD ranges (4 more ranges, up to 1500 detections per
image) over the standard summary, and checks
that the precision / recall / score arrays and the 12 summary numbers are identical.
"""
import argparse
import contextlib
import io
import time

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ghostdet.evaluation.box_eval import dt_from_results, evaluate_boxes, gt_from_coco
from ghostdet.evaluation.small_object_eval import STANDARD_KEYS, evaluate_small_objects


def make_problem(num_images: int = 5000, dets_per_image: int = 100, num_classes: int = 80, seed: int = 0):
    """A COCO val2017-like ground truth dict and results list (see the module doc)."""
    rng = np.random.default_rng(seed)
    class_freq = 1.0 / np.arange(1, num_classes + 1) ** 0.9  # skewed, like COCO's 'person'-heavy distribution
    class_freq /= class_freq.sum()
    cat_ids = np.arange(1, num_classes + 1) + (np.arange(num_classes) // 11)  # non-contiguous, like COCO's
    images, anns, dets = [], [], []
    for img_id in range(1, num_images + 1):
        width, height = 640, int(rng.choice([427, 480, 512]))
        images.append(dict(id=img_id, width=width, height=height, file_name=f'{img_id:012d}.jpg'))
        num_obj = 0 if rng.random() < 0.01 else int(rng.poisson(7.3))
        bucket = rng.choice(3, size=num_obj, p=[0.41, 0.34, 0.25])
        lo, hi = np.array([4, 32, 96])[bucket], np.array([32, 96, 400])[bucket]
        side = np.exp(rng.uniform(np.log(lo), np.log(hi)))
        aspect = np.exp(rng.uniform(np.log(0.5), np.log(2), num_obj))
        w, h = side * np.sqrt(aspect), side / np.sqrt(aspect)
        x, y = rng.uniform(0, width - np.minimum(w, width - 1)), rng.uniform(0, height - np.minimum(h, height - 1))
        cls = rng.choice(num_classes, size=num_obj, p=class_freq)
        boxes = np.stack([x, y, w, h], 1)
        for i in range(num_obj):
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=int(cat_ids[cls[i]]),
                             bbox=[round(float(v), 2) for v in boxes[i]],
                             area=float(w[i] * h[i] * rng.uniform(0.5, 0.9)), iscrowd=int(rng.random() < 0.01)))
        # detections: 0-8 jittered copies per object, the rest background boxes
        copies = np.minimum(rng.integers(0, 9, num_obj), dets_per_image)
        src = np.repeat(np.arange(num_obj), copies)[:dets_per_image]
        jitter = rng.normal(0, 0.12, (len(src), 4)) * np.c_[w[src], h[src], w[src], h[src]]
        near = boxes[src] + jitter
        near[:, 2:] = np.maximum(near[:, 2:], 1.0)
        near_cls = np.where(rng.random(len(src)) < 0.85, cls[src], rng.choice(num_classes, size=len(src)))
        num_bg = dets_per_image - len(src)
        bg_side = np.exp(rng.uniform(np.log(4), np.log(300), num_bg))
        bg = np.c_[rng.uniform(0, width, num_bg), rng.uniform(0, height, num_bg), bg_side,
                   bg_side * np.exp(rng.uniform(-0.7, 0.7, num_bg))]
        all_boxes = np.concatenate([near, bg])
        all_cls = np.concatenate([near_cls, rng.choice(num_classes, size=num_bg, p=class_freq)])
        scores = np.round(np.concatenate([rng.beta(4, 2, len(src)), rng.beta(1, 5, num_bg)]), 3)
        for b, c, s in zip(all_boxes, all_cls, scores):
            dets.append(dict(image_id=img_id, category_id=int(cat_ids[c]), bbox=[round(float(v), 2) for v in b],
                             score=float(s)))
    categories = [dict(id=int(c), name=f'class{i}') for i, c in enumerate(cat_ids)]
    return dict(images=images, annotations=anns, categories=categories), dets


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--num-images', type=int, default=5000)
    parser.add_argument('--dets-per-image', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--repeats', type=int, default=3, help='ghostdet timings are the best of this many runs')
    args = parser.parse_args()

    gt_dict, dets = make_problem(args.num_images, args.dets_per_image, seed=args.seed)
    print(f'problem: {len(gt_dict["images"])} images, {len(gt_dict["annotations"])} ground-truth boxes, '
          f'{len(dets)} detections, {len(gt_dict["categories"])} classes')
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt_dict
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dets)
        coco_eval = COCOeval(coco_gt, coco_dt, 'bbox')
        tic = time.perf_counter()
        coco_eval.evaluate()
        coco_eval.accumulate()
        t_ref = time.perf_counter() - tic
        coco_eval.summarize()
    print(f'pycocotools COCOeval evaluate + accumulate: {t_ref:8.2f} s')

    img_ids, cat_ids = coco_gt.getImgIds(), coco_gt.getCatIds()

    def best_of(fn):
        times = []
        for _ in range(args.repeats):
            tic = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - tic)
        return min(times), out

    # timed from the same COCO objects: array extraction included
    t_ours, result = best_of(lambda: evaluate_boxes(gt_from_coco(coco_gt), dt_from_results(
        coco_dt.dataset['annotations']), img_ids=img_ids, cat_ids=cat_ids))
    print(f'ghostdet evaluate_boxes (same parameters):  {t_ours:8.2f} s   speed-up {t_ref / t_ours:5.1f}x')
    identical = all(np.array_equal(getattr(result, k), coco_eval.eval[k]) for k in ('precision', 'recall', 'scores'))
    print(f'precision / recall / scores arrays identical to pycocotools: {identical}')

    t_standard, _ = best_of(lambda: evaluate_small_objects(gt_from_coco(coco_gt), dt_from_results(
        coco_dt.dataset['annotations']), img_ids, cat_ids, area_ranges='coco'))
    t_ranges, report = best_of(lambda: evaluate_small_objects(gt_from_coco(coco_gt), dt_from_results(
        coco_dt.dataset['annotations']), img_ids, cat_ids, area_ranges='aitod'))
    worst = max(abs(report.stats[k] - coco_eval.stats[i]) for i, k in enumerate(STANDARD_KEYS))
    print(f'ghostdet summary, standard numbers only:            {t_standard:8.2f} s')
    print(f'ghostdet summary + AI-TOD ranges (up to 1500 dets): {t_ranges:8.2f} s '
          f'(+{t_ranges - t_standard:.2f} s for the 4 extra ranges)')
    print(f'12 standard numbers: largest difference to COCOeval.summarize() = {worst:.1e}')
    if not identical or worst > 1e-9:
        raise SystemExit('results differ from pycocotools')


if __name__ == '__main__':
    main()
