"""Reading annotations and results: validation of every detection, the two json readers agreeing, the conversion of
mmdet predictions (against the json ``CocoMetric.results2json`` writes), and pickles read without running code."""
import json
import os
import pickle

import numpy as np
import pytest
import torch

from ghostdet.evaluation import GroundTruth, detections_from_predictions, load_annotations, load_results
from ghostdet.evaluation.coco_io import validate_detections
from ghostdet.testing.coco import random_coco_problem


@pytest.fixture
def problem(tmp_path):
    gt_dict, dets = random_coco_problem(11)
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(gt_dict))
    return gt_dict, dets, GroundTruth.from_coco(load_annotations(str(ann))), tmp_path


def write(tmp_path, name, obj):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(path)


def det_array(dets):
    return np.array([[d['image_id'], *d['bbox'], d['score'], d['category_id']] for d in dets], dtype=np.float64)


BAD = {  # (change to detection #3, text of the error)
    'nan score': (dict(score=float('nan')), 'non-finite'),
    'inf x': (dict(bbox=[float('inf'), 1, 2, 3]), 'non-finite'),
    'negative width': (dict(bbox=[5, 5, -2, 3]), 'non-positive width or height'),
    'zero height': (dict(bbox=[5, 5, 2, 0]), 'non-positive width or height'),
    'both negative': (dict(bbox=[9, 9, -2, -3]), 'non-positive width or height'),
    'unknown image': (dict(image_id=999999), 'image id that is not in the annotations'),
    'unknown category': (dict(category_id=777), 'category id that is not in the annotations'),
}


@pytest.mark.parametrize('case', sorted(BAD))
def test_invalid_detection_named_or_dropped(problem, case):
    """Both json readers (hotcoco's, and Python's for the message) stop at the first invalid entry, by position."""
    gt_dict, dets, gt, tmp_path = problem
    change, message = BAD[case]
    bad = [dict(d) for d in dets[:10]]
    bad[3].update(change)
    bad[7].update(change)
    path = write(tmp_path, 'bad.json', json.dumps(bad))  # NaN and Infinity as Python's json writes them
    with pytest.raises(ValueError, match=f'detection #3 .*{message}.*2 of 10 detections are invalid'):
        load_results(path, gt)
    dt, dropped = load_results(path, gt, drop_invalid=True)
    assert sorted(dt.get_ann_ids()) == list(range(1, 9)) and list(dropped.values()) == [2]
    with pytest.raises(ValueError, match=f'predictions: detection #3 .*{message}'):
        validate_detections(det_array(bad), gt.img_ids, gt.cat_ids, 'predictions')


def test_clean_json_takes_the_fast_reader_and_equals_the_array(problem):
    gt_dict, dets, gt, tmp_path = problem
    dt, dropped = load_results(write(tmp_path, 'res.json', dets), gt)
    assert dropped == {}
    from_array = gt.coco.load_res(det_array(dets))
    for a, b in zip(dt.load_anns(dt.get_ann_ids()), from_array.load_anns(from_array.get_ann_ids())):
        assert (a['image_id'], a['category_id'], a['bbox'], a['score']) == \
            (b['image_id'], b['category_id'], b['bbox'], b['score'])


@pytest.mark.parametrize('text, message', [
    ('{"annotations": []}', 'JSON list of detections'),
    ('[{"image_id": 11, "bbox": [0, 0, 1]}]', 'detection #0 is not'),
    ('[{"image_id": 11, "category_id": 2, "bbox": [0, 0, 1, 1], "score": "high"}]', 'detection #0 is not'),
    ('[{"image_id": 11, "category_id": 2, "bbox": [0, 0, 1, 1]}]', 'detection #0 is not'),
    ('[{"image_id": 11', 'cannot read a results json'),
])
def test_malformed_results(problem, text, message):
    *_, gt, tmp_path = problem
    with pytest.raises(ValueError, match=message):
        load_results(write(tmp_path, 'x.json', text), gt)


def test_annotation_file_errors(problem):
    gt_dict, dets, _, tmp_path = problem
    with pytest.raises(ValueError, match='did you swap'):
        load_annotations(write(tmp_path, 'res.json', dets))
    with pytest.raises(ValueError, match='no images or no categories'):
        load_annotations(write(tmp_path, 'empty.json', dict(images=[], annotations=[], categories=[])))
    with pytest.raises(ValueError, match='cannot read'):
        load_annotations(str(tmp_path / 'missing.json'))


def test_predictions_convert_as_results2json_writes(problem):
    """Label -> category id and xyxy -> xywh: the numbers of the json mmdet's CocoMetric writes."""
    from mmdet.evaluation.metrics import CocoMetric
    gt_dict, dets, gt, tmp_path = problem
    rng = np.random.default_rng(0)
    preds = [dict(img_id=i, bboxes=torch.from_numpy(rng.uniform(0, 300, (n, 4)).astype(np.float32).cumsum(1)),
                  scores=torch.rand(n), labels=torch.from_numpy(rng.integers(0, 5, n)))
             for i, n in ((11, 4), (16, 0), (21, 7))]
    metric = CocoMetric()
    metric.cat_ids = gt.cat_ids
    written = json.loads(open(metric.results2json(
        [{k: v.numpy() if hasattr(v, 'numpy') else v for k, v in p.items()} for p in preds],
        str(tmp_path / 'r'))['bbox']).read())
    np.testing.assert_array_equal(detections_from_predictions(preds, gt.cat_ids), det_array(written))
    preds[0]['labels'][0] = 5
    with pytest.raises(ValueError, match='label 5 but the annotations have 5 categories'):
        detections_from_predictions(preds, gt.cat_ids)


def test_pickle_with_tensors_and_numpy_equals_the_json(problem):
    gt_dict, dets, gt, tmp_path = problem
    index = {c: k for k, c in enumerate(gt.cat_ids)}
    samples = []
    for img in gt_dict['images']:
        mine = det_array([d for d in dets if d['image_id'] == img['id']]).reshape(-1, 7)
        xyxy = np.c_[mine[:, 1:3], mine[:, 1:3] + mine[:, 3:5]]
        samples.append(dict(img_id=img['id'], ori_shape=(480, 640), scale=np.float32(1.0), pred_instances=dict(
            bboxes=torch.from_numpy(xyxy), scores=mine[:, 5], labels=torch.tensor([index[c] for c in mine[:, 6]]))))
    path = tmp_path / 'out.pkl'
    path.write_bytes(pickle.dumps(samples))
    dt, _ = load_results(str(path), gt)
    via_json, _ = load_results(write(tmp_path, 'res.json', dets), gt)

    def key(ann):
        return ann['image_id'], ann['category_id'], ann['score']

    got = sorted(dt.load_anns(dt.get_ann_ids()), key=key)
    want = sorted(via_json.load_anns(via_json.get_ann_ids()), key=key)
    assert [key(a) for a in got] == [key(a) for a in want]
    np.testing.assert_allclose([a['bbox'] for a in got], [a['bbox'] for a in want], rtol=0, atol=1e-9)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def test_pickle_payload_refused_without_running(problem):
    *_, gt, tmp_path = problem
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps([dict(img_id=11, pred_instances=dict(bboxes=_Payload(marker)))]))
    with pytest.raises(ValueError, match='refused to load (posix|os).system'):
        load_results(str(path), gt)
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the same file with pickle.load does run it: the test would catch a regression
    assert marker.exists()


def test_pickle_of_the_wrong_shape(problem):
    *_, gt, tmp_path = problem
    path = tmp_path / 'x.pkl'
    path.write_bytes(pickle.dumps([{'boxes': 1}]))
    with pytest.raises(ValueError, match='pred_instances'):
        load_results(str(path), gt)
