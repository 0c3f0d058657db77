"""Merging the predictions of overlapping slices: NMS, NMM and greedy NMM with IoU or IoS, as SAHI defines them.

Semantics (those of SAHI 0.12.8's ``NMSPostprocess`` / ``NMMPostprocess`` / ``GreedyNMMPostprocess``, tested
against them on random inputs):

* Boxes are visited by score, highest first (ties by x1, y1, x2, y2). Two boxes *match* when their IoU or IoS
  (intersection over the smaller box, which pairs a box cut at a slice border with the whole one) is at least
  ``match_thr``; only boxes of the same class match unless ``class_agnostic``.
* ``nms`` keeps a box and drops every box that matches it. ``greedy_nmm`` merges every remaining box that matches
  the kept one into it. ``nmm`` merges transitively: what matches a merged box joins the same group.
* A merge takes the enclosing box, the higher score and that box's label; each member is merged only if it still
  matches the box merged so far.

The match test runs on float32 boxes (as SAHI's) and the merge test and the merged boxes on float64. Candidate
pairs come from a sweep over the boxes sorted by ``x1``, so memory grows with the number of overlapping pairs,
not with the square of the number of boxes.
"""
from typing import Callable, Dict, List, NamedTuple, Tuple

import numpy as np

MATCH_METRICS = ('iou', 'ios')
_PAIR_BLOCK_ELEMENTS = 1 << 21  # rows x candidate columns computed at once


class Detections(NamedTuple):
    """Boxes ``(N, 4)`` float64 ``x1, y1, x2, y2``, scores ``(N,)`` float32, labels ``(N,)`` int64."""
    bboxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    @classmethod
    def empty(cls) -> 'Detections':
        return cls(np.zeros((0, 4)), np.zeros(0, np.float32), np.zeros(0, np.int64))

    @classmethod
    def concatenate(cls, parts: List['Detections']) -> 'Detections':
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate(arrays) for arrays in zip(*parts)))

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, index) -> 'Detections':
        return Detections(self.bboxes[index], self.scores[index], self.labels[index])


def _overlap(b: np.ndarray, areas: np.ndarray, rows: np.ndarray, cols: np.ndarray, metric: str) -> np.ndarray:
    """IoU / IoS of ``rows x cols`` in float32, operation for operation as SAHI's dense metric matrix."""
    br, bc = b[rows][:, None], b[cols][None]
    iw = np.maximum(0, np.minimum(br[..., 2], bc[..., 2]) - np.maximum(br[..., 0], bc[..., 0]))
    ih = np.maximum(0, np.minimum(br[..., 3], bc[..., 3]) - np.maximum(br[..., 1], bc[..., 1]))
    inter = iw * ih
    ar, ac = areas[rows][:, None], areas[cols][None]
    denominator = ar + ac - inter if metric == 'iou' else np.minimum(ar, ac)
    return np.divide(inter, denominator, out=np.zeros_like(inter), where=denominator > 0)


def match_graph(boxes: np.ndarray, labels: np.ndarray, metric: str, thr: float,
                class_agnostic: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Symmetric adjacency (CSR ``indptr, indices``, self excluded) of the box pairs whose overlap is >= ``thr``.

    Pairs are found by a sweep: with boxes sorted by ``x1``, box ``i`` can only overlap the boxes after it whose
    ``x1`` is below its ``x2``, a contiguous run. Wide boxes (a full-image pass) sweep on their own so that they
    do not widen the runs of the small ones.
    """
    n = len(boxes)
    b = boxes.astype(np.float32)
    areas = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    order = np.argsort(b[:, 0], kind='stable')
    x1_sorted = b[order, 0]
    widths = b[order, 2] - b[order, 0]
    wide = widths > 2 * np.median(widths) if n else np.zeros(0, bool)
    pairs_i, pairs_j = [], []
    for positions in (np.flatnonzero(~wide), np.flatnonzero(wide)):
        start = 0
        while start < len(positions):
            stop = min(len(positions), start + 256)
            while True:  # shrink the block until rows x run fits the budget
                block = positions[start:stop]
                end = int(np.searchsorted(x1_sorted, b[order[block], 2].max(), side='left'))
                if (stop - start) * max(end - block[0], 1) <= _PAIR_BLOCK_ELEMENTS or stop - start == 1:
                    break
                stop = start + max(1, (stop - start) // 2)
            cols = np.arange(block[0] + 1, max(end, block[0] + 1))
            start = stop
            if len(cols) == 0:
                continue
            later = cols[None] > block[:, None]  # each unordered pair once, from its earlier box
            value = _overlap(b, areas, order[block], order[cols], metric)
            hit = later & (value >= thr)
            if not class_agnostic:
                hit &= labels[order[block]][:, None] == labels[order[cols]][None]
            r, c = np.nonzero(hit)
            pairs_i.append(order[block[r]])
            pairs_j.append(order[cols[c]])
    i = np.concatenate(pairs_i) if pairs_i else np.zeros(0, np.int64)
    j = np.concatenate(pairs_j) if pairs_j else np.zeros(0, np.int64)
    src, dst = np.concatenate([i, j]), np.concatenate([j, i])
    by_src = np.lexsort((dst, src))
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, dst[by_src]


def score_order(boxes32: np.ndarray, scores32: np.ndarray) -> np.ndarray:
    """Visiting order: score descending, ties by ``x1, y1, x2, y2`` ascending (SAHI's order)."""
    return np.lexsort((boxes32[:, 3], boxes32[:, 2], boxes32[:, 1], boxes32[:, 0], -scores32))


def _nms(order, indptr, indices, boxes32, scores32) -> Dict[int, List[int]]:
    suppressed = np.zeros(len(order), bool)
    keep = {}
    for idx in order.tolist():
        if suppressed[idx]:
            continue
        keep[idx] = []
        suppressed[indices[indptr[idx]:indptr[idx + 1]]] = True
    return keep


def _greedy_nmm(order, indptr, indices, boxes32, scores32) -> Dict[int, List[int]]:
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))
    suppressed = np.zeros(len(order), bool)
    keep_to_merge = {}
    for idx in order.tolist():
        if suppressed[idx]:
            continue
        neighbours = indices[indptr[idx]:indptr[idx + 1]]
        neighbours = neighbours[(position[neighbours] > position[idx]) & ~suppressed[neighbours]]
        neighbours = neighbours[np.argsort(position[neighbours])]
        suppressed[neighbours] = True
        keep_to_merge[idx] = neighbours.tolist()
    return keep_to_merge


def _dominates(i: int, js: np.ndarray, boxes32: np.ndarray, scores32: np.ndarray) -> np.ndarray:
    """Whether box ``i`` may claim each of ``js``: a lower score, or an equal score and coordinates that are not
    lexicographically above its own (SAHI's tie rule)."""
    lower = scores32[js] < scores32[i]
    equal = scores32[js] == scores32[i]
    below = np.zeros(len(js), bool)
    tied = np.ones(len(js), bool)
    for col in range(4):
        below |= tied & (boxes32[i, col] < boxes32[js, col])
        tied &= boxes32[i, col] == boxes32[js, col]
    return lower | (equal & ~below)


def _nmm(order, indptr, indices, boxes32, scores32) -> Dict[int, List[int]]:
    group_of = np.full(len(order), -1, np.int64)
    keep_to_merge: Dict[int, List[int]] = {}
    for idx in order.tolist():
        neighbours = np.sort(indices[indptr[idx]:indptr[idx + 1]])
        claimed = neighbours[_dominates(idx, neighbours, boxes32, scores32)]
        if group_of[idx] < 0:
            group_of[idx] = idx
            keep_to_merge[idx] = []
        group = int(group_of[idx])
        new = claimed[group_of[claimed] < 0]
        group_of[new] = group
        keep_to_merge[group].extend(new.tolist())
    return keep_to_merge


MERGE_METHODS: Dict[str, Callable] = {'nms': _nms, 'nmm': _nmm, 'greedy_nmm': _greedy_nmm}


def _still_matches(a: List[float], b: List[float], metric: str, thr: float) -> bool:
    """Overlap of two boxes in float64, operation for operation as SAHI's pairwise merge test."""
    inter = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0) * max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    denominator = area_a + area_b - inter if metric == 'iou' else min(area_a, area_b)
    return inter / denominator >= thr


def merge_detections(dets: Detections, method: str = 'nms', match_metric: str = 'iou', match_thr: float = 0.5,
                     class_agnostic: bool = False) -> Detections:
    """Merge overlapping detections; the result is sorted by score, highest first.

    Args:
        dets (Detections): Boxes with positive width and height, in one image's coordinates.
        method (str): ``'nms'``, ``'nmm'`` or ``'greedy_nmm'``.
        match_metric (str): ``'iou'`` or ``'ios'``.
        match_thr (float): Overlap at or above which two boxes match, in ``(0, 1]``.
        class_agnostic (bool): Let boxes of different classes match.
    """
    check_merge_options(method, match_metric, match_thr)
    if len(dets) == 0:
        return dets
    boxes32, scores32 = dets.bboxes.astype(np.float32), dets.scores.astype(np.float32)
    indptr, indices = match_graph(dets.bboxes, dets.labels, match_metric, match_thr, class_agnostic)
    order = score_order(boxes32, scores32)
    keep_to_merge = MERGE_METHODS[method](order, indptr, indices, boxes32, scores32)
    boxes, scores, labels = dets.bboxes.tolist(), dets.scores.tolist(), dets.labels.tolist()
    out_boxes, out_scores, out_labels = [], [], []
    for keep, members in keep_to_merge.items():
        box, score, label = boxes[keep], scores[keep], labels[keep]
        for m in members:
            if _still_matches(box, boxes[m], match_metric, match_thr):
                box = [min(box[0], boxes[m][0]), min(box[1], boxes[m][1]),
                       max(box[2], boxes[m][2]), max(box[3], boxes[m][3])]
                label = label if score > scores[m] else labels[m]
                score = max(score, scores[m])
        out_boxes.append(box)
        out_scores.append(score)
        out_labels.append(label)
    merged = Detections(np.asarray(out_boxes, np.float64).reshape(-1, 4), np.asarray(out_scores, np.float32),
                        np.asarray(out_labels, np.int64))
    return merged.select(np.argsort(-merged.scores, kind='stable'))


def check_merge_options(method: str, match_metric: str, match_thr: float) -> None:
    if method not in MERGE_METHODS:
        raise ValueError(f'merge must be one of {sorted(MERGE_METHODS)}, got {method!r}')
    if match_metric not in MATCH_METRICS:
        raise ValueError(f'match metric must be one of {MATCH_METRICS}, got {match_metric!r}')
    if not 0 < match_thr <= 1:
        raise ValueError(f'match threshold must be in (0, 1], got {match_thr}')
