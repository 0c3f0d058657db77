"""Merging equals SAHI 0.12.8's postprocess classes (the reference) on random clustered predictions."""
import numpy as np
import pytest

from ghostdet.inference.merging import Detections, match_graph, merge_detections

pytest.importorskip('sahi')
from sahi.postprocess.combine import GreedyNMMPostprocess, NMMPostprocess, NMSPostprocess  # noqa: E402
from sahi.prediction import ObjectPrediction  # noqa: E402

SAHI_CLASSES = dict(nms=NMSPostprocess, nmm=NMMPostprocess, greedy_nmm=GreedyNMMPostprocess)


def random_detections(rng, n, num_classes=3, tied_scores=False):
    """Boxes jittered around a few objects (as overlapping slices predict them), float32-representable."""
    centres = rng.uniform(0, 500, (max(n // 4, 1), 2))
    sizes = rng.uniform(5, 60, (len(centres), 2))
    obj = rng.integers(0, len(centres), n)
    x1y1 = centres[obj] + rng.normal(0, 4, (n, 2))
    boxes = np.concatenate([x1y1, x1y1 + sizes[obj] * rng.uniform(0.6, 1.3, (n, 2))], 1).clip(0)
    scores = rng.uniform(0.05, 1, n)
    if tied_scores:
        scores = np.round(scores, 1)
    return Detections(boxes.astype(np.float32).astype(np.float64), scores.astype(np.float32),
                      rng.integers(0, num_classes, n))


def sahi_merge(dets, method, metric, thr, class_agnostic):
    preds = [ObjectPrediction(bbox=b.tolist(), score=float(s), category_id=int(c), category_name=str(c))
             for b, s, c in zip(dets.bboxes, dets.scores, dets.labels)]
    out = SAHI_CLASSES[method](match_threshold=thr, match_metric=metric.upper(), class_agnostic=class_agnostic)(preds)
    return np.array([[*p.bbox.to_xyxy(), p.score.value, p.category.id] for p in out]).reshape(-1, 6)


def rows(a):
    return a[np.lexsort(a.T[::-1])]


@pytest.mark.parametrize('method', sorted(SAHI_CLASSES))
@pytest.mark.parametrize('metric', ['iou', 'ios'])
@pytest.mark.parametrize('class_agnostic', [False, True])
def test_merge_equals_sahi(method, metric, class_agnostic):
    rng = np.random.default_rng(len(method) * 4 + len(metric) * 2 + class_agnostic)
    merged_any = False
    for trial in range(25):
        dets = random_detections(rng, int(rng.integers(1, 150)), tied_scores=trial % 2 == 1)
        thr = float(rng.choice([0.1, 0.3, 0.5, 0.7, 0.9]))
        expected = sahi_merge(dets, method, metric, thr, class_agnostic)
        out = merge_detections(dets, method, metric, thr, class_agnostic)
        got = np.c_[out.bboxes, out.scores, out.labels]
        assert got.shape == expected.shape, (trial, thr)
        np.testing.assert_allclose(rows(got), rows(expected), rtol=0, atol=1e-6)
        assert (np.diff(out.scores) <= 0).all()
        merged_any |= len(out) < len(dets)
    assert merged_any


def test_merge_equals_sahi_sparse_path():
    """Above 2,000 predictions SAHI switches to its sparse (STRtree) backend; the results still agree."""
    rng = np.random.default_rng(7)
    dets = random_detections(rng, 2500)
    for method in SAHI_CLASSES:
        out = merge_detections(dets, method, 'ios', 0.5)
        np.testing.assert_allclose(rows(np.c_[out.bboxes, out.scores, out.labels]),
                                   rows(sahi_merge(dets, method, 'ios', 0.5, False)), rtol=0, atol=1e-6)


def test_match_graph_equals_dense_matrix():
    """The sweep finds exactly the pairs of a dense IoU matrix, with a few very wide boxes among small ones."""
    rng = np.random.default_rng(3)
    dets = random_detections(rng, 400)
    boxes = np.concatenate([dets.bboxes, [[0, 0, 600, 600], [10, 100, 550, 120]]])
    labels = np.zeros(len(boxes), np.int64)
    indptr, indices = match_graph(boxes, labels, 'iou', 0.1, class_agnostic=True)
    x1 = np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    y1 = np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    inter = (np.minimum(boxes[:, None, 2], boxes[None, :, 2]) - x1).clip(0) * \
        (np.minimum(boxes[:, None, 3], boxes[None, :, 3]) - y1).clip(0)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    dense = inter / (area[:, None] + area[None] - inter) >= 0.1
    np.fill_diagonal(dense, False)
    for i in range(len(boxes)):
        assert sorted(indices[indptr[i]:indptr[i + 1]]) == list(np.flatnonzero(dense[i])), i


def test_merge_takes_enclosing_box_higher_score_and_its_label():
    dets = Detections(np.array([[0., 0, 10, 10], [0, 2, 10, 12], [50, 50, 60, 60]]),
                      np.array([0.6, 0.9, 0.5], np.float32), np.array([2, 1, 0]))
    out = merge_detections(dets, 'greedy_nmm', 'iou', 0.5, class_agnostic=True)
    np.testing.assert_allclose(out.bboxes, [[0, 0, 10, 12], [50, 50, 60, 60]])
    np.testing.assert_allclose(out.scores, [0.9, 0.5])
    assert out.labels.tolist() == [1, 0]
    # class-aware: different classes never merge
    assert len(merge_detections(dets, 'greedy_nmm', 'iou', 0.5)) == 3


@pytest.mark.parametrize('kwargs, message', [(dict(method='soft'), 'merge must be'),
                                             (dict(match_metric='giou'), 'match metric'),
                                             (dict(match_thr=0.0), r'match threshold must be in \(0, 1\]'),
                                             (dict(match_thr=1.5), 'match threshold')])
def test_bad_merge_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        merge_detections(Detections.empty(), **kwargs)
