"""Vectorised COCO box evaluation: pycocotools' ``COCOeval`` (``evaluate`` + ``accumulate``) re-done in numpy.

The result arrays (``precision[T, R, K, A, M]``, ``recall[T, K, A, M]``, ``scores``) are those of
``COCOeval.eval`` for ``iouType='bbox'`` on the same parameters, value for value, including pycocotools'
quirks: inclusive area ranges (an object of exactly 32² px is both small and medium), maxDets counted per
image *and* class, ties broken by input order (stable sorts), the ``ignore`` field overridden by ``iscrowd``,
crowd boxes matched by intersection over the detection's area and reusable, and a match to a ground-truth
box whose ``id`` is 0 counted as no match.

How it is fast: pycocotools loops in Python over image x class x area range x IoU threshold x detection x
ground truth. Here the greedy matching runs once for all (image, class) groups at once, one step per
detection rank (at most ``max(maxDets)`` steps), vectorised over groups, IoU thresholds and the group's
ground truths. An area range only changes which ground truths are ignored; the matching depends on that only
in groups that mix ignored and non-ignored ground truths, so every further range re-matches just those
groups and reuses the first matching elsewhere. Accumulation is a segmented cumulative sum per class.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

# pycocotools' defaults (cocoeval.Params.setDetParams), built the same way so the floats are identical.
COCO_IOU_THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
COCO_REC_THRS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
COCO_MAX_DETS = (1, 10, 100)
_STEP_ELEMENTS = 1 << 22  # bound on groups x thresholds x padded ground truths in one matching call
COCO_AREA_RANGES = {'all': (0 ** 2, 1e5 ** 2), 'small': (0 ** 2, 32 ** 2), 'medium': (32 ** 2, 96 ** 2),
                    'large': (96 ** 2, 1e5 ** 2)}


@dataclass
class BoxSet:
    """Boxes of one side of an evaluation (ground truth or detections) as flat arrays.

    Args:
        image_ids (np.ndarray): ``(N,)`` int64 image id per box.
        category_ids (np.ndarray): ``(N,)`` int64 category id per box.
        boxes (np.ndarray): ``(N, 4)`` float64 ``[x, y, w, h]``.
        areas (np.ndarray): ``(N,)`` float64 area used for the area ranges.
        scores (np.ndarray, optional): ``(N,)`` float64 detection scores (detections only).
        iscrowd (np.ndarray, optional): ``(N,)`` bool crowd flags (ground truth only).
        ids (np.ndarray, optional): ``(N,)`` int64 annotation ids (ground truth only; id 0 matters, see module doc).
    """
    image_ids: np.ndarray
    category_ids: np.ndarray
    boxes: np.ndarray
    areas: np.ndarray
    scores: Optional[np.ndarray] = None
    iscrowd: Optional[np.ndarray] = None
    ids: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.image_ids)


@dataclass
class EvalResult:
    """Accumulated evaluation, laid out like ``COCOeval.eval``.

    ``precision[T, R, K, A, M]``, ``recall[T, K, A, M]`` and ``scores[T, R, K, A, M]`` are -1 where a class has no
    non-ignored ground truth in an area range. ``num_gt[K, A]`` counts the non-ignored ground truths.
    """
    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    num_gt: np.ndarray
    iou_thrs: np.ndarray
    rec_thrs: np.ndarray
    cat_ids: List[int]
    area_ranges: List[Tuple[float, float]]
    max_dets: List[int]
    img_ids: List[int] = field(default_factory=list)


def box_iou_coco(dt: np.ndarray, gt: np.ndarray, gt_crowd: np.ndarray) -> np.ndarray:
    """IoU of paired ``[x, y, w, h]`` rows, operation for operation as pycocotools' ``bbIou`` (so bit-identical).

    Args:
        dt (np.ndarray): ``(..., 4)`` detection boxes.
        gt (np.ndarray): ``(..., 4)`` ground-truth boxes, broadcastable with ``dt``.
        gt_crowd (np.ndarray): crowd flags of ``gt``: the union is then the detection's area alone.

    Returns:
        np.ndarray: IoU, 0 where the boxes do not overlap.
    """
    dx, dy, dw, dh = np.moveaxis(dt, -1, 0)
    gx, gy, gw, gh = np.moveaxis(gt, -1, 0)
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    overlap = (w > 0) & (h > 0)
    inter = w * h
    det_area = dw * dh
    union = np.where(gt_crowd, det_area, det_area + gw * gh - inter)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(overlap, inter / np.where(overlap, union, 1.0), 0.0)


class _Groups:
    """Detections and ground truths grouped by (class, image), sorted as pycocotools visits them.

    Detections are ordered by (class, image, score descending, input order) and cut at ``max_det`` per group;
    ground truths by (class, image, input order). Groups holding both are split into buckets by their number of
    ground truths (padded to a power of two) for the matching.
    """

    def __init__(self, gt: BoxSet, dt: BoxSet, img_ids: np.ndarray, cat_ids: np.ndarray, max_det: int):
        num_imgs = len(img_ids)
        self.num_imgs, self.num_cats = num_imgs, len(cat_ids)

        def group_keys(boxes: BoxSet) -> Tuple[np.ndarray, np.ndarray]:
            img_idx = np.searchsorted(img_ids, boxes.image_ids)
            cat_idx = np.searchsorted(cat_ids, boxes.category_ids)
            img_ok = (img_idx < num_imgs) & (img_ids[np.minimum(img_idx, num_imgs - 1)] == boxes.image_ids)
            cat_ok = (cat_idx < len(cat_ids)) & (cat_ids[np.minimum(cat_idx, len(cat_ids) - 1)] == boxes.category_ids)
            keep = np.flatnonzero(img_ok & cat_ok)
            return keep, cat_idx[keep] * num_imgs + img_idx[keep]

        # ground truth: stable by group, input order within
        keep, key = group_keys(gt)
        order = np.argsort(key, kind='stable')
        gsel = keep[order]
        self.gt_key = key[order]
        self.gt_boxes = gt.boxes[gsel]
        self.gt_area = gt.areas[gsel]
        self.gt_crowd = np.zeros(len(gsel), bool) if gt.iscrowd is None else gt.iscrowd[gsel].astype(bool)
        self.gt_id0 = np.zeros(len(gsel), bool) if gt.ids is None else gt.ids[gsel] == 0
        self.gt_cat = self.gt_key // num_imgs

        # detections: by group, score descending, input order; keep the first max_det of each group
        keep, key = group_keys(dt)
        order = np.lexsort((keep, -dt.scores[keep], key))
        key, dsel = key[order], keep[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
        rank = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
        within = rank < max_det
        self.dt_key, self.dt_rank = key[within], rank[within]
        dsel = dsel[within]
        self.dt_boxes = dt.boxes[dsel]
        self.dt_area = dt.areas[dsel]
        self.dt_score = dt.scores[dsel]
        self.dt_cat = self.dt_key // num_imgs

        # all ground-truth groups (contiguous rows); those that also hold detections need matching
        self.gt_groups, self.gt_first, gt_count = np.unique(self.gt_key, return_index=True, return_counts=True)
        both = np.isin(self.gt_groups, self.dt_key)
        self.match_of_gt_group = np.flatnonzero(both)
        match_groups = self.gt_groups[both]
        self.dt_group = np.searchsorted(match_groups, self.dt_key)
        matchable = np.isin(self.dt_key, match_groups)

        # buckets of groups by ground-truth count padded to a power of two; per detection its padded IoU row
        count = gt_count[both]
        pad = 1 << np.ceil(np.log2(np.maximum(count, 1))).astype(np.int64)
        self.buckets = []
        for width in np.unique(pad):
            groups = np.flatnonzero(pad == width)
            slots = np.arange(width)
            gt_index = np.where(slots < count[groups, None], self.gt_first[both][groups, None] + slots, -1)
            local = np.full(len(match_groups), -1)
            local[groups] = np.arange(len(groups))
            det_rows = np.flatnonzero(matchable)
            det_rows = det_rows[local[self.dt_group[det_rows]] >= 0]
            det_rows = det_rows[np.argsort(self.dt_rank[det_rows], kind='stable')]
            det_local = local[self.dt_group[det_rows]]
            det_gt = gt_index[det_local]
            ious = box_iou_coco(self.dt_boxes[det_rows, None, :], self.gt_boxes[det_gt], self.gt_crowd[det_gt])
            ious[det_gt < 0] = -1.0  # padding never reaches a threshold
            self.buckets.append(dict(groups=groups, gt_index=gt_index, det_rows=det_rows, det_local=det_local,
                                     ious=ious))

    def per_group_any(self, flags: np.ndarray) -> np.ndarray:
        """Whether any ground truth of each matched group has ``flags`` set."""
        if not len(self.gt_first):
            return np.zeros(0, bool)
        return np.logical_or.reduceat(flags, self.gt_first)[self.match_of_gt_group]


def _greedy_match(bucket: dict, group_mask: np.ndarray, det_rank: np.ndarray, gt_ignore: np.ndarray,
                  gt_crowd: np.ndarray, thrs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """pycocotools' greedy matching for the bucket's groups where ``group_mask`` is set.

    Detections are visited by rank (score order within their group); each takes, among the ground truths not yet
    taken (crowds are never taken) whose IoU reaches the threshold, the best non-ignored one, or failing that the
    best ignored one; ties go to the later ground truth, as pycocotools' ``>=`` scan does.

    Args:
        bucket (dict): One bucket of :class:`_Groups`.
        group_mask (np.ndarray): Which of the bucket's groups to match.
        det_rank (np.ndarray): Rank of every grouped detection within its group.
        gt_ignore (np.ndarray): Ignore flag of every grouped ground truth (crowd or outside the area range).
        gt_crowd (np.ndarray): Crowd flag of every grouped ground truth.
        thrs (np.ndarray): IoU thresholds, already capped at ``1 - 1e-10`` as pycocotools does.

    Returns:
        tuple: detection rows (into the grouped detections) and their matched ground-truth index ``(n, T)``
        (-1: unmatched).
    """
    sel = np.flatnonzero(group_mask[bucket['det_local']])
    rows, local, ious = bucket['det_rows'][sel], bucket['det_local'][sel], bucket['ious'][sel]
    gt_index = bucket['gt_index']
    padded = gt_index < 0
    ignore = np.where(padded, True, gt_ignore[gt_index])
    crowd = np.where(padded, False, gt_crowd[gt_index])
    width, num_thrs = gt_index.shape[1], len(thrs)
    taken = np.zeros((len(gt_index), num_thrs, width), bool)
    matched = np.full((len(rows), num_thrs), -1, np.int64)
    # rows are sorted by rank; one rank is one step, in which no group appears twice
    rank = det_rank[rows]
    bounds = np.flatnonzero(np.r_[True, rank[1:] != rank[:-1], True]) if len(rows) else np.zeros(1, np.int64)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        grp = local[start:stop]
        iou = ious[start:stop, None, :]
        cand = (iou >= thrs[None, :, None]) & ~taken[grp]
        regular = cand & ~ignore[grp][:, None, :]
        cand = np.where(regular.any(axis=2, keepdims=True), regular, cand)
        score = np.where(cand, iou, -np.inf)
        best = width - 1 - np.argmax(score[:, :, ::-1], axis=2)  # the last of equal maxima
        hit = cand.any(axis=2)
        step_rows, step_thrs = np.nonzero(hit)
        slot = best[step_rows, step_thrs]
        matched[start + step_rows, step_thrs] = gt_index[grp[step_rows], slot]
        keep = ~crowd[grp[step_rows], slot]
        taken[grp[step_rows[keep]], step_thrs[keep], slot[keep]] = True
    return rows, matched


def evaluate_boxes(gt: BoxSet, dt: BoxSet, img_ids: Optional[Sequence[int]] = None,
                   cat_ids: Optional[Sequence[int]] = None, iou_thrs: Sequence[float] = COCO_IOU_THRS,
                   area_ranges: Sequence[Tuple[float, float]] = tuple(COCO_AREA_RANGES.values()),
                   max_dets: Sequence[int] = COCO_MAX_DETS, rec_thrs: np.ndarray = COCO_REC_THRS,
                   accumulate_for: Optional[Sequence[Tuple[int, int]]] = None) -> EvalResult:
    """Evaluate detections against ground truth like ``COCOeval(iouType='bbox')`` ``evaluate()`` + ``accumulate()``.

    Args:
        gt (BoxSet): Ground truth (``iscrowd`` and ``ids`` used when given).
        dt (BoxSet): Detections (``scores`` required).
        img_ids (sequence, optional): Images evaluated (``params.imgIds``). Give every image of the dataset, also
            those without annotations: their detections are false positives. Default: images with ground truth.
        cat_ids (sequence, optional): Categories (``params.catIds``). Default: categories with ground truth.
        iou_thrs (sequence): IoU thresholds (``params.iouThrs``).
        area_ranges (sequence): ``(min_area, max_area)`` pairs, inclusive at both ends (``params.areaRng``).
        max_dets (sequence): Detections per image and class (``params.maxDets``); sorted as pycocotools does.
        rec_thrs (np.ndarray): Recall thresholds (``params.recThrs``).
        accumulate_for (sequence, optional): ``(area range index, max_det)`` pairs to accumulate; the others stay
            -1 (saves time when a summary reads only some of them). Default: all, as pycocotools.

    Returns:
        EvalResult: arrays identical to ``COCOeval.eval``'s for the same parameters.
    """
    img_ids = np.unique(np.asarray(gt.image_ids if img_ids is None else list(img_ids), dtype=np.int64))
    cat_ids = np.unique(np.asarray(gt.category_ids if cat_ids is None else list(cat_ids), dtype=np.int64))
    iou_thrs = np.asarray(iou_thrs, dtype=np.float64)
    rec_thrs = np.asarray(rec_thrs, dtype=np.float64)
    max_dets = sorted(int(m) for m in max_dets)
    area_ranges = [(float(lo), float(hi)) for lo, hi in area_ranges]
    num_thrs, num_rec, num_cats = len(iou_thrs), len(rec_thrs), len(cat_ids)
    num_areas, num_max = len(area_ranges), len(max_dets)
    precision = -np.ones((num_thrs, num_rec, num_cats, num_areas, num_max))
    recall = -np.ones((num_thrs, num_cats, num_areas, num_max))
    scores = -np.ones((num_thrs, num_rec, num_cats, num_areas, num_max))
    num_gt = np.zeros((num_cats, num_areas), np.int64)
    result = EvalResult(precision, recall, scores, num_gt, iou_thrs, rec_thrs, cat_ids.tolist(), area_ranges,
                        max_dets, img_ids.tolist())
    if num_cats == 0 or len(img_ids) == 0:
        return result

    groups = _Groups(gt, dt, img_ids, cat_ids, max_dets[-1])
    thrs = np.minimum(iou_thrs, 1 - 1e-10)  # pycocotools: iou = min([t, 1 - 1e-10])
    num_dt = len(groups.dt_key)

    def match(gt_ignore: np.ndarray, group_mask: Optional[np.ndarray], out: np.ndarray) -> None:
        for bucket in groups.buckets:
            num_groups = len(bucket['groups'])
            todo = np.arange(num_groups) if group_mask is None else np.flatnonzero(group_mask[bucket['groups']])
            # chunks of groups keep the (groups, thresholds, ground truths) step arrays to a few MB
            chunk = max(1, _STEP_ELEMENTS // (num_thrs * bucket['gt_index'].shape[1]))
            for first in range(0, len(todo), chunk):
                mask = np.zeros(num_groups, bool)
                mask[todo[first:first + chunk]] = True
                rows, matched = _greedy_match(bucket, mask, groups.dt_rank, gt_ignore, groups.gt_crowd, thrs)
                out[rows] = matched

    # the matching with crowds as the only ignored boxes; an area range re-matches only the groups where
    # its ignore flags change which ground truth a detection prefers (see the module doc)
    base_ignore = groups.gt_crowd
    base_match = np.full((num_dt, num_thrs), -1, np.int64)
    match(base_ignore, None, base_match)
    base_mixed = groups.per_group_any(base_ignore) & groups.per_group_any(~base_ignore)

    # accumulation order: per class by score, ties in (image, rank) order as pycocotools' concatenation
    order = np.lexsort((np.arange(num_dt), -groups.dt_score, groups.dt_cat))
    for a, (lo, hi) in enumerate(area_ranges):
        gt_ignore = base_ignore | (groups.gt_area < lo) | (groups.gt_area > hi)
        dt_outside = (groups.dt_area < lo) | (groups.dt_area > hi)
        matched = base_match
        changed = groups.per_group_any(gt_ignore != base_ignore)
        if changed.any():
            rematch = changed & (base_mixed | (groups.per_group_any(gt_ignore) & groups.per_group_any(~gt_ignore)))
            if rematch.any():
                matched = base_match.copy()
                match(gt_ignore, rematch, matched)
        hit = matched >= 0  # index -1 (no match) reads the False appended to the flags below
        id0 = np.append(groups.gt_id0, False)[matched]  # pycocotools stores the gt id: id 0 reads as no match
        real = hit & ~id0
        dt_ignore = np.append(gt_ignore, False)[matched] | (~real & dt_outside[:, None])
        tps = (real & ~dt_ignore).T.copy()  # (T, N)
        fps = (~real & ~dt_ignore).T.copy()
        npig = np.bincount(groups.gt_cat[~gt_ignore], minlength=num_cats)
        num_gt[:, a] = npig
        for m, max_det in enumerate(max_dets):
            if accumulate_for is not None and (a, max_det) not in accumulate_for:
                continue
            sel = order[groups.dt_rank[order] < max_det]
            _accumulate(result, a, m, npig, groups.dt_cat[sel], groups.dt_score[sel], tps[:, sel], fps[:, sel])
    return result


def _recall_steps(npig: np.ndarray, rec_thrs: np.ndarray) -> np.ndarray:
    """``need[k, r]``: the fewest true positives with ``tp / npig[k] >= rec_thrs[r]``, in pycocotools' floats."""
    n = npig[:, None].astype(np.float64)
    need = np.ceil(rec_thrs[None, :] * n).astype(np.int64)
    for _ in range(2):  # the product may round either way; settle on the exact float comparison
        need = np.where((need > 0) & ((need - 1) / n >= rec_thrs), need - 1, need)
        need = np.where(need / n < rec_thrs, need + 1, need)
    return need


def _accumulate(result: EvalResult, a: int, m: int, npig: np.ndarray, cats: np.ndarray, det_scores: np.ndarray,
                tps: np.ndarray, fps: np.ndarray) -> None:
    """Fill ``precision/recall/scores[..., a, m]`` from all detections, sorted by class then score.

    ``tps`` / ``fps`` are ``(T, N)`` flags of the sorted detections. Per class and threshold this is pycocotools'
    accumulation: cumulative true / false positives, recall ``tp / npig``, precision ``tp / (tp + fp + eps)`` made
    monotone from the right, read at the first detection reaching each recall threshold (0 past the last one).

    All classes and thresholds are done at once. Detections ignored at every threshold are dropped first: they
    repeat their predecessor's precision and recall (or 0 at a class's start), so no read changes, except the score
    read at recall 0, which pycocotools takes from the class's first detection whatever it is. The reads are a
    search on the integer true-positive counts; the monotone envelope is a block maximum (``maximum.reduceat``)
    between consecutive reads followed by a running maximum over <= 101 blocks.
    """
    num_thrs, num_rec, num_cats = tps.shape[0], len(result.rec_thrs), len(npig)
    counted = npig[cats] > 0  # classes without ground truth stay -1
    cats, det_scores, tps, fps = cats[counted], det_scores[counted], tps[:, counted], fps[:, counted]
    full_start = np.searchsorted(cats, np.arange(num_cats))
    has_dets = np.bincount(cats, minlength=num_cats) > 0
    first_score = np.where(has_dets, det_scores[np.minimum(full_start, max(len(cats) - 1, 0))] if len(cats) else 0, 0)
    active = (tps | fps).any(axis=0)
    cats, det_scores, tps, fps = cats[active], det_scores[active], tps[:, active], fps[:, active]

    n = len(cats)
    bounds = np.searchsorted(cats, np.arange(num_cats + 1))
    start, length = bounds[:-1], np.diff(bounds)
    at_zero = result.rec_thrs == 0  # the read at recall 0 is the class's first detection, ignored or not
    # ground truth but no counted detection: recall and precision 0
    empty = np.flatnonzero((npig > 0) & (length == 0))
    result.recall[:, empty, a, m] = 0
    result.precision[:, :, empty, a, m] = 0
    result.scores[:, :, empty, a, m] = np.where(at_zero[:, None], first_score[empty][None, :], 0)[None]
    cls = np.flatnonzero((npig > 0) & (length > 0))
    if not len(cls):
        return

    # cumulative counts within each class segment (exact integers), rows = thresholds
    def segment_cumsum(flags: np.ndarray) -> np.ndarray:
        total = np.cumsum(flags.view(np.int8), axis=1, dtype=np.int32)
        before = np.concatenate([np.zeros((num_thrs, 1), np.int32), total], axis=1)[:, start]
        total -= np.repeat(before, length, axis=1)
        return total

    tp_count = segment_cumsum(tps)
    tp = tp_count.astype(float)
    fp = segment_cumsum(fps).astype(float)
    pr_flat = np.empty(num_thrs * n + 1)  # + 1: reduceat's closing mark of the last run may point past the end
    pr = pr_flat[:-1].reshape(num_thrs, n)
    np.divide(tp, fp + tp + np.spacing(1), out=pr)
    last = start[cls] + length[cls] - 1
    result.recall[:, cls, a, m] = tp[:, last] / npig[cls]

    # read positions: first detection of the class with tp_count >= need (searchsorted on a global sorted key)
    need = _recall_steps(npig[cls], result.rec_thrs)  # (C, R)
    stride = int(npig.max()) + 2
    key = np.repeat(np.arange(num_cats, dtype=np.int64) * stride, length)[None, :] + tp_count
    key += (np.arange(num_thrs, dtype=np.int64) * num_cats * stride)[:, None]
    query = (np.arange(num_thrs)[:, None, None] * num_cats + cls[None, :, None]) * stride + need[None]
    pos = np.searchsorted(key.ravel(), query.ravel()).reshape(num_thrs, len(cls), num_rec)  # index into (T, n)
    row_start = (np.arange(num_thrs)[:, None] * n + start[cls][None, :])[..., None]
    valid = pos - row_start < length[cls][None, :, None]

    # monotone envelope at the read positions: block maxima between consecutive reads, then a running max
    seg_end = (row_start[..., 0] + length[cls][None, :])[..., None]  # closes each (threshold, class) run
    marks = np.concatenate([np.where(valid, pos, seg_end), seg_end], axis=2).ravel()
    pr_flat[-1] = 0.0
    block_max = np.maximum.reduceat(pr_flat, marks).reshape(num_thrs, len(cls), num_rec + 1)
    block_max = np.where(np.concatenate([valid, np.zeros_like(valid[..., :1])], axis=2), block_max, -np.inf)
    envelope = np.maximum.accumulate(block_max[..., ::-1], axis=2)[..., ::-1][..., :num_rec]
    q = np.where(valid, envelope, 0.0)
    ss = np.where(valid, det_scores[np.where(valid, pos, 0) % n], 0.0)
    ss = np.where(at_zero[None, None, :], first_score[cls][None, :, None], ss)
    result.precision[:, :, cls, a, m] = q.transpose(0, 2, 1)
    result.scores[:, :, cls, a, m] = ss.transpose(0, 2, 1)


def gt_from_coco(coco, area_source: str = 'annotation') -> BoxSet:
    """Ground truth of a pycocotools ``COCO`` object (or anything with its ``dataset`` dict) as a :class:`BoxSet`.

    Args:
        coco: ``pycocotools.coco.COCO`` (mmdet's wrapper too).
        area_source (str): ``'annotation'``: the ``area`` field, as pycocotools (for COCO itself that is the mask
            area); ``'box'``: the box's ``w * h``, the convention of AI-TOD and most small-object benchmarks.
    """
    if area_source not in ('annotation', 'box'):
        raise ValueError(f"area_source must be 'annotation' or 'box', got {area_source!r}")
    anns = coco.dataset.get('annotations', [])
    boxes = np.array([a['bbox'] for a in anns], dtype=np.float64).reshape(-1, 4)
    if area_source == 'box':
        areas = boxes[:, 2] * boxes[:, 3]
    else:
        missing = [a.get('id') for a in anns if 'area' not in a]
        if missing:
            raise KeyError(f'{len(missing)} annotations have no "area" field (e.g. id {missing[0]}): '
                           "evaluate with area_source='box' to use the box area w*h")
        areas = np.array([a['area'] for a in anns], dtype=np.float64)
    return BoxSet(image_ids=np.array([a['image_id'] for a in anns], dtype=np.int64),
                  category_ids=np.array([a['category_id'] for a in anns], dtype=np.int64),
                  boxes=boxes, areas=areas,
                  iscrowd=np.array([bool(a.get('iscrowd', 0)) for a in anns], dtype=bool),
                  ids=np.array([a.get('id', -1) for a in anns], dtype=np.int64))


def dt_from_results(results: Sequence[dict]) -> BoxSet:
    """Detections in COCO results format (``image_id, category_id, bbox [x, y, w, h], score``) as a :class:`BoxSet`.

    The area is the box's ``w * h``, as ``COCO.loadRes`` sets it.
    """
    boxes = np.array([r['bbox'] for r in results], dtype=np.float64).reshape(-1, 4)
    return BoxSet(image_ids=np.array([r['image_id'] for r in results], dtype=np.int64),
                  category_ids=np.array([r['category_id'] for r in results], dtype=np.int64),
                  boxes=boxes, areas=boxes[:, 2] * boxes[:, 3],
                  scores=np.array([r['score'] for r in results], dtype=np.float64))
