"""The vectorised backend against pycocotools' COCOeval: the accumulated arrays must be identical, value for value."""
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from random_coco import box_area_gt, coco_api, pycocotools_eval, random_coco_problem

from ghostdet.evaluation import box_eval, box_iou_coco, dt_from_results, evaluate_boxes, gt_from_coco


def ours(gt_dict, dets, **kwargs):
    coco = coco_api(gt_dict)
    return evaluate_boxes(gt_from_coco(coco), dt_from_results(dets), img_ids=coco.getImgIds(),
                          cat_ids=coco.getCatIds(), **kwargs)


def assert_identical(result, reference):
    for key in ('precision', 'recall', 'scores'):
        ref = reference.eval[key]
        assert getattr(result, key).shape == ref.shape, key
        np.testing.assert_array_equal(getattr(result, key), ref, err_msg=key)


@pytest.mark.parametrize('seed', range(5))
def test_default_parameters_identical(seed):
    gt, dets = random_coco_problem(seed, first_ann_id=0 if seed == 3 else 1)  # id 0: pycocotools' "no match"
    assert_identical(ours(gt, dets), pycocotools_eval(gt, dets))


@pytest.mark.parametrize('seed', range(3))
def test_custom_ranges_dets_and_thresholds_identical(seed):
    """Extra area ranges (AI-TOD and TinyPerson borders), more detections than 100, an unusual IoU grid."""
    gt, dets = random_coco_problem(10 + seed, max_dets_per_image=160)
    ranges = {'all': (0, 1e10), 'verytiny': (0, 64), 'tiny': (64, 256), 'small': (256, 1024),
              'medium': (1024, 1e10), 'tiny1': (1, 64), 'tiny2': (64, 144)}
    iou_thrs = np.array([0.25, 0.5, 0.6, 0.75, 1.0])  # 1.0 is capped at 1 - 1e-10 by pycocotools
    max_dets = [1, 10, 100, 150]
    reference = pycocotools_eval(gt, dets, area_ranges=ranges, max_dets=max_dets, iou_thrs=iou_thrs)
    assert_identical(ours(gt, dets, area_ranges=list(ranges.values()), max_dets=max_dets, iou_thrs=iou_thrs),
                     reference)


def test_box_area_ground_truth_identical():
    gt, dets = random_coco_problem(20)
    gt = box_area_gt(gt)
    assert_identical(ours(gt, dets), pycocotools_eval(gt, dets))


def test_problem_exercises_the_edge_cases():
    """Guards the fixture: the problems above must contain what they claim to test."""
    gt, dets = random_coco_problem(0)
    has_gt = {a['image_id'] for a in gt['annotations']}
    assert len(has_gt) < len(gt['images'])
    assert any(a['iscrowd'] for a in gt['annotations'])
    assert {d['image_id'] for d in dets} - has_gt  # detections on images without annotations
    reference = pycocotools_eval(gt, dets)
    precision = reference.eval['precision']
    assert (precision[0, 0, :, 1, 2] == -1).any()  # a class without small objects
    assert (precision[0, 0, :, 0, 2] == -1).any()  # a class without any ground truth
    assert len({d['score'] for d in dets}) < len(dets)  # tied scores


def test_iou_identical_to_pycocotools():
    rng = np.random.default_rng(0)
    dt = np.round(rng.uniform(0, 50, (30, 4)), 1)
    gt = np.round(rng.uniform(0, 50, (20, 4)), 1)
    crowd = rng.random(20) < 0.3
    reference = mask_utils.iou(dt.tolist(), gt.tolist(), crowd.astype(np.uint8).tolist())
    np.testing.assert_array_equal(box_iou_coco(dt[:, None], gt[None], crowd[None]), reference)


def test_no_detections_and_no_categories():
    gt, dets = random_coco_problem(1)
    result = ours(gt, [])
    has_gt = result.num_gt > 0  # (class, range): recall and precision 0 there, -1 elsewhere
    expected = np.where(has_gt, 0.0, -1.0)[..., None]
    assert (result.precision == expected).all() and (result.recall == expected).all()
    assert has_gt.any() and not has_gt.all()
    empty = evaluate_boxes(gt_from_coco(coco_api(gt)), dt_from_results(dets), cat_ids=[])
    assert empty.precision.size == 0


def test_dense_images_and_chunked_matching_identical(monkeypatch):
    """Many boxes of a class per image (wide ground-truth buckets), also matched one group per call."""
    gt, dets = random_coco_problem(8, num_images=6, num_classes=3, max_dets_per_image=400)
    extra = [dict(a, id=10000 + i, bbox=[a['bbox'][0] + 3, a['bbox'][1] + 2, *a['bbox'][2:]])
             for i, a in enumerate(gt['annotations'])]
    gt = dict(gt, annotations=gt['annotations'] + extra)
    max_dets = [1, 10, 100, 300]
    reference = pycocotools_eval(gt, dets, max_dets=max_dets)
    assert_identical(ours(gt, dets, max_dets=max_dets), reference)
    monkeypatch.setattr(box_eval, '_STEP_ELEMENTS', 1)
    assert_identical(ours(gt, dets, max_dets=max_dets), reference)


def test_accumulate_only_the_requested_pairs():
    gt, dets = random_coco_problem(4)
    full = ours(gt, dets)
    part = ours(gt, dets, accumulate_for=[(1, 100)])
    np.testing.assert_array_equal(part.precision[..., 1, 2], full.precision[..., 1, 2])
    assert (part.precision[..., 0, :] == -1).all() and (part.recall[..., 1, :2] == -1).all()
