"""hotcoco (Rust, pycocotools-exact) as the COCO box-evaluation backend.

hotcoco's Python objects hand out copies: ``coco.dataset`` and the lists inside ``ev.params`` are copies, so an edit
made in place (``ev.params.maxDets.append(1500)``, ``for a in coco.dataset['annotations']: a['area'] = ...``) is
silently lost and the numbers are those of the defaults (hotcoco issue 5 lists such drop-in traps). Here every
parameter is assigned whole and read back, and box areas are written with ``update_anns`` and checked.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

AREA_ALL = (0.0, 1e5 ** 2)  # pycocotools' "all" range
COCO_AREA_RANGES = {'all': AREA_ALL, 'small': (0.0, 32.0 ** 2), 'medium': (32.0 ** 2, 96.0 ** 2),
                    'large': (96.0 ** 2, 1e5 ** 2)}
# pycocotools' default IoU grid, built the same way so the floats are identical
COCO_IOU_THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)


@dataclass
class GroundTruth:
    """A hotcoco ``COCO`` of the annotations plus the columns the summaries need.

    Attributes:
        coco: hotcoco ``COCO`` (its ``area`` field is the area the size ranges use).
        img_ids (list): Every image id (images without annotations included).
        cat_ids (list): Category ids in file order; cat_names: their names.
        category_ids, areas (np.ndarray): Per annotation; crowd (np.ndarray): ``iscrowd`` per annotation
            (pycocotools ignores exactly the crowd boxes; its ``ignore`` field is overwritten by ``iscrowd``).
    """
    coco: object
    img_ids: List[int]
    cat_ids: List[int]
    cat_names: List[str]
    category_ids: np.ndarray
    areas: np.ndarray
    crowd: np.ndarray

    @classmethod
    def from_coco(cls, coco, area_source: str = 'annotation',
                  cat_ids: Optional[Sequence[int]] = None) -> 'GroundTruth':
        """Args: coco: hotcoco ``COCO``; area_source: ``'annotation'`` (the ``area`` field, as pycocotools) or
        ``'box'`` (``w * h``, written into a copy of ``coco``); cat_ids: the categories to evaluate, in table order
        (default: all, in file order)."""
        if area_source not in ('annotation', 'box'):
            raise ValueError(f"area_source must be 'annotation' or 'box', got {area_source!r}")
        data = coco.dataset
        anns = data['annotations']
        ids = np.array([a['id'] for a in anns], dtype=np.int64)
        boxes = np.array([a['bbox'] for a in anns], dtype=np.float64).reshape(-1, 4)
        areas = np.array([a.get('area', 0.0) for a in anns], dtype=np.float64)
        if area_source == 'box':
            import hotcoco
            coco, areas = hotcoco.COCO(data), boxes[:, 2] * boxes[:, 3]
            if len(ids):
                coco.update_anns(ids=ids, area=areas)
                written = coco.load_anns([int(ids[-1])])[0]['area']
                if written != areas[-1]:
                    raise RuntimeError(f'hotcoco did not take the box areas (annotation {ids[-1]}: {written} != '
                                       f'{areas[-1]})')
        if (ids == 0).any():
            import warnings
            warnings.warn('annotation id 0: pycocotools counts a detection matched to it as a false positive (its '
                          '"no match" marker is 0); hotcoco counts it as a match, so numbers differ from pycocotools '
                          'there. Number annotations from 1.', stacklevel=2)
        names = {c['id']: str(c.get('name', c['id'])) for c in data['categories']}
        cat_ids = list(names) if cat_ids is None else [int(c) for c in cat_ids]
        unknown = [c for c in cat_ids if c not in names]
        if unknown:
            raise ValueError(f'categories {unknown} are not in the annotations')
        return cls(coco=coco, img_ids=sorted(coco.get_img_ids()), cat_ids=cat_ids,
                   cat_names=[names[c] for c in cat_ids],
                   category_ids=np.array([a['category_id'] for a in anns], dtype=np.int64), areas=areas,
                   crowd=np.array([bool(a.get('iscrowd', 0)) for a in anns], dtype=bool))

    def num_gt(self, cat_ids: Sequence[int], area_ranges: Sequence[Tuple[float, float]]) -> np.ndarray:
        """``[K, A]`` non-crowd ground truths per category and area range (inclusive ends, as pycocotools)."""
        counted = ~self.crowd
        out = np.zeros((len(cat_ids), len(area_ranges)), dtype=np.int64)
        for a, (lo, hi) in enumerate(area_ranges):
            in_range = counted & (self.areas >= lo) & (self.areas <= hi)
            for k, cat_id in enumerate(cat_ids):
                out[k, a] = np.count_nonzero(in_range & (self.category_ids == cat_id))
        return out


@dataclass
class EvalArrays:
    """pycocotools' ``COCOeval.eval`` arrays: ``precision[T, R, K, A, M]``, ``recall[T, K, A, M]``,
    ``scores[T, R, K, A, M]`` (-1 where a class has no ground truth in a range), ``num_gt[K, A]``."""
    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    num_gt: np.ndarray
    iou_thrs: np.ndarray
    cat_ids: List[int]
    area_ranges: List[Tuple[float, float]]
    max_dets: List[int]


def configured_cocoeval(gt: GroundTruth, dt, iou_thrs: Sequence[float], area_ranges: Sequence[Tuple[float, float]],
                        max_dets: Sequence[int], cat_ids: Sequence[int], area_labels: Sequence[str] = ()):
    """A hotcoco ``COCOeval`` (not yet run) with these parameters, each assigned whole and verified.

    Area range labels default to ``all, r1, r2, ...``; hotcoco's error analysis reads the range labelled ``all``.
    """
    import hotcoco
    ev = hotcoco.COCOeval(gt.coco, dt, 'bbox')
    wanted = dict(imgIds=[int(i) for i in gt.img_ids], catIds=[int(c) for c in cat_ids],
                  iouThrs=[float(t) for t in iou_thrs], areaRng=[[float(lo), float(hi)] for lo, hi in area_ranges],
                  areaRngLbl=list(area_labels) or ['all'] + [f'r{i}' for i in range(1, len(area_ranges))],
                  maxDets=[int(m) for m in max_dets])
    params = ev.params
    for name, value in wanted.items():
        setattr(params, name, value)
    for name, value in wanted.items():
        if list(getattr(ev.params, name)) != value:
            raise RuntimeError(f'hotcoco did not take params.{name} = {value}')
    return ev


def evaluate(gt: GroundTruth, dt, iou_thrs: Sequence[float], area_ranges: Sequence[Tuple[float, float]],
             max_dets: Sequence[int], cat_ids: Sequence[int]) -> EvalArrays:
    """``COCOeval.evaluate()`` + ``accumulate()`` for boxes, with pycocotools' semantics and arrays.

    Args:
        gt (GroundTruth): Annotations.
        dt: hotcoco results ``COCO`` (``gt.coco.load_res(...)``).
        iou_thrs (sequence): IoU thresholds.
        area_ranges (sequence): ``(min_area, max_area)`` pairs, inclusive at both ends.
        max_dets (sequence): Detections per image (per class, as pycocotools), increasing.
        cat_ids (sequence): Categories to evaluate; ``K`` runs over them sorted by id (pycocotools sorts them).
    """
    cat_ids = sorted(int(c) for c in cat_ids)
    ev = configured_cocoeval(gt, dt, iou_thrs, area_ranges, max_dets, cat_ids)
    ev.evaluate()
    ev.accumulate()
    result = ev.eval
    return EvalArrays(precision=result['precision'], recall=result['recall'], scores=result['scores'],
                      num_gt=gt.num_gt(cat_ids, area_ranges), iou_thrs=np.asarray(iou_thrs, dtype=np.float64),
                      cat_ids=cat_ids, area_ranges=list(area_ranges), max_dets=list(max_dets))
