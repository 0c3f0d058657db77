"""Sliced prediction: windows, batching, the full-image pass and merging, end to end against SAHI's
get_sliced_prediction with SAHI's own mmdet-prediction conversion around the same detector."""
import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from ghostdet.inference import Detector, SlicedPredictor, SliceOptions


def draw_squares(height, width, boxes):
    image = np.full((height, width, 3), 40, np.uint8)
    for x1, y1, x2, y2 in boxes:
        image[y1:y2, x1:x2] = 255
    return image


class SquareFinder(Detector):
    """Finds bright rectangles (connected components); the score grows with the visible area, so a whole square
    outscores a part of it cut at a slice border. ``jitter`` adds near-duplicates with random scores and classes,
    seeded by the content (the same slice gives the same output)."""
    class_names = ('square', 'other')

    def __init__(self, jitter=0):
        self.jitter = jitter
        self.batches = []

    def predict(self, images):
        self.batches.append([im.shape[:2] for im in images])
        samples = []
        for image in images:
            n, _, stats, _ = cv2.connectedComponentsWithStats((image[..., 0] > 200).astype(np.uint8))
            x, y, w, h, area = stats[1:].T.astype(np.float32)
            boxes = np.stack([x, y, x + w, y + h], 1)
            scores = area / (area + 1000)
            labels = np.zeros(len(boxes), np.int64)
            if self.jitter and len(boxes):
                rng = np.random.default_rng(int(image.sum()) % (2 ** 32))
                idx = rng.integers(0, len(boxes), self.jitter * len(boxes))
                extra = boxes[idx] + rng.normal(0, 2, (len(idx), 4)).astype(np.float32)
                extra[:, 2:] = np.maximum(extra[:, 2:], extra[:, :2] + 1)
                extra = extra.clip(0, [image.shape[1], image.shape[0]] * 2)  # clipped to its input, as mmdet's
                boxes = np.concatenate([boxes, extra])
                scores = np.concatenate([scores, rng.uniform(0, 1, len(idx))])
                labels = np.concatenate([labels, rng.integers(0, 2, len(idx))])
            sample = DetDataSample(metainfo=dict(ori_shape=image.shape[:2], img_shape=image.shape[:2]))
            sample.pred_instances = InstanceData(bboxes=torch.from_numpy(boxes).float(),
                                                 scores=torch.from_numpy(scores).float(),
                                                 labels=torch.from_numpy(labels))
            samples.append(sample)
        return samples


def random_squares(rng, height, width, count, size_range):
    boxes, occupied = [], np.zeros((height, width), bool)
    while len(boxes) < count:
        s = int(rng.integers(*size_range))
        x, y = int(rng.integers(0, width - s)), int(rng.integers(0, height - s))
        if not occupied[max(y - 2, 0):y + s + 2, max(x - 2, 0):x + s + 2].any():
            occupied[y:y + s, x:x + s] = True
            boxes.append((x, y, x + s, y + s))
    return np.array(boxes)


def as_rows(dets):
    rows = np.c_[dets.bboxes, dets.scores, dets.labels]
    return rows[np.lexsort(rows.T[::-1])]


def test_each_square_found_once_in_image_coordinates():
    rng = np.random.default_rng(0)
    truth = random_squares(rng, 500, 700, 40, (6, 30))
    detector = SquareFinder()
    options = SliceOptions(slice_size=128, overlap=0.25, merge='nms', match_metric='ios', score_thr=0.0,
                           batch_size=4)
    dets = SlicedPredictor(detector, options).predict(draw_squares(500, 700, truth))
    np.testing.assert_array_equal(np.unique(dets.bboxes, axis=0), np.unique(truth, axis=0))
    # batches of at most 4 slices of one size; every slice seen once
    assert all(len(b) <= 4 and len(set(b)) == 1 for b in detector.batches)
    assert sum(map(len, detector.batches)) == len(SlicedPredictor(detector, options).windows(500, 700))


def test_greedy_nmm_ios_joins_a_square_cut_by_every_slice():
    """A square larger than the overlap is never whole in a slice: NMS keeps parts, GREEDYNMM + IoS joins them."""
    image = draw_squares(256, 256, [(90, 90, 170, 170)])
    common = dict(slice_size=128, overlap=0.25, score_thr=0.0)
    parts = SlicedPredictor(SquareFinder(), SliceOptions(merge='nms', match_metric='iou', **common)).predict(image)
    assert len(parts) > 1
    joined = SlicedPredictor(SquareFinder(), SliceOptions(merge='greedy_nmm', match_metric='ios',
                                                          **common)).predict(image)
    np.testing.assert_array_equal(joined.bboxes, [[90, 90, 170, 170]])


def test_full_image_pass_and_unsliced_mode():
    image = draw_squares(300, 400, [(10, 10, 50, 50)])
    detector = SquareFinder()
    SlicedPredictor(detector, SliceOptions(slice_size=200, full_image_pass=True, batch_size=16)).predict(image)
    assert detector.batches[-1] == [(300, 400)] and len(detector.batches[0]) == 6  # 2 x 3 slices, then the image
    detector.batches.clear()
    dets = SlicedPredictor(detector, SliceOptions()).predict(image)  # no slicing: the whole image once
    assert detector.batches == [[(300, 400)]]
    np.testing.assert_array_equal(dets.bboxes, [[10, 10, 50, 50]])
    # one slice bigger than the image: no full-image pass on top (as SAHI)
    detector.batches.clear()
    SlicedPredictor(detector, SliceOptions(slice_size=1000, full_image_pass=True)).predict(image)
    assert detector.batches == [[(300, 400)]]


def test_score_threshold():
    image = draw_squares(200, 200, [(10, 10, 20, 20), (100, 100, 160, 160)])  # scores 0.09 and 0.78
    dets = SlicedPredictor(SquareFinder(), SliceOptions(slice_size=200, score_thr=0.6)).predict(image)
    np.testing.assert_array_equal(dets.bboxes, [[100, 100, 160, 160]])


@pytest.mark.parametrize('merge, metric, full_pass, agnostic', [
    ('nms', 'iou', False, False), ('greedy_nmm', 'ios', True, False), ('nmm', 'ios', False, True),
    ('nmm', 'iou', True, False), ('greedy_nmm', 'iou', False, True)])
def test_equals_sahi_get_sliced_prediction(merge, metric, full_pass, agnostic):
    sahi_predict = pytest.importorskip('sahi.predict')
    from sahi.models.mmdet import MmdetDetectionModel

    class SahiAdapter(MmdetDetectionModel):
        """SAHI's mmdet wrapper (its prediction conversion: threshold, clipping, shifting) with the inferencer
        replaced by the same detector; SAHI hands it RGB slices."""

        def set_model(self, model, **kwargs):
            self.model = model
            self.category_mapping = {str(i): name for i, name in enumerate(model.class_names)}

        @property
        def has_mask(self):
            return False

        def perform_inference(self, image):
            pred = self.model.predict([np.ascontiguousarray(image[..., ::-1])])[0].pred_instances
            self._original_predictions = [dict(bboxes=pred.bboxes.tolist(), scores=pred.scores.tolist(),
                                               labels=pred.labels.tolist())]

    rng = np.random.default_rng(1)
    image = draw_squares(333, 517, random_squares(rng, 333, 517, 25, (5, 60)))
    sahi_model = SahiAdapter(model=SquareFinder(jitter=3), confidence_threshold=0.3, device='cpu')
    expected = sahi_predict.get_sliced_prediction(
        image[..., ::-1].copy(), sahi_model, slice_height=96, slice_width=128, overlap_height_ratio=0.3,
        overlap_width_ratio=0.3, perform_standard_pred=full_pass, postprocess_type=merge.upper().replace('_', ''),
        postprocess_match_metric=metric.upper(), postprocess_match_threshold=0.4,
        postprocess_class_agnostic=agnostic, verbose=0).object_prediction_list
    expected = np.array([[*p.bbox.to_xyxy(), p.score.value, p.category.id] for p in expected])
    options = SliceOptions(slice_size=(96, 128), overlap=0.3, full_image_pass=full_pass, merge=merge,
                           match_metric=metric, match_thr=0.4, class_agnostic=agnostic, score_thr=0.3, batch_size=5)
    got = as_rows(SlicedPredictor(SquareFinder(jitter=3), options).predict(image))
    assert len(got) > 20
    np.testing.assert_allclose(got, expected[np.lexsort(expected.T[::-1])], rtol=0, atol=1e-4)


@pytest.mark.parametrize('kwargs, message', [
    (dict(slice_size=0), 'slice size must be positive'), (dict(slice_size=(10, -3)), 'slice size'),
    (dict(overlap=1.0), r'overlap must be in \[0, 1\)'), (dict(overlap=-0.2), 'overlap'),
    (dict(batch_size=0), 'batch size'), (dict(score_thr=1.5), 'score threshold'),
    (dict(merge='wbf'), 'merge must be one of')])
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SliceOptions(**kwargs)
