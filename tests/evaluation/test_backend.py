"""The hotcoco backend against pycocotools' COCOeval: the accumulated arrays must be identical, value for value;
and the ways of plugging hotcoco in that hotcoco issue 5 found to give silently wrong numbers."""
import warnings

import hotcoco
import numpy as np
import pytest

from ghostdet.evaluation.backend import COCO_AREA_RANGES, COCO_IOU_THRS, GroundTruth, configured_cocoeval, evaluate
from ghostdet.testing.coco import box_area_gt, pycocotools_eval, random_coco_problem

AITOD_AND_TINYPERSON = {'all': (0, 1e10), 'verytiny': (0, 64), 'tiny': (64, 256), 'small': (256, 1024),
                        'medium': (1024, 1e10), 'tiny1': (1, 64), 'tiny2': (64, 144)}


def ours(gt_dict, dets, area_source='annotation', iou_thrs=COCO_IOU_THRS, area_ranges=COCO_AREA_RANGES,
         max_dets=(1, 10, 100)):
    gt = GroundTruth.from_coco(hotcoco.COCO(gt_dict), area_source)
    dt = gt.coco.load_res(np.array([[d['image_id'], *d['bbox'], d['score'], d['category_id']] for d in dets],
                                   dtype=np.float64).reshape(-1, 7))
    return evaluate(gt, dt, iou_thrs, list(area_ranges.values()), max_dets, gt.cat_ids)


def assert_identical(result, reference):
    for key in ('precision', 'recall', 'scores'):
        ref = reference.eval[key]
        assert getattr(result, key).shape == ref.shape, key
        np.testing.assert_array_equal(getattr(result, key), ref, err_msg=key)


@pytest.mark.parametrize('seed', range(4))
def test_default_parameters_identical(seed):
    gt, dets = random_coco_problem(seed, dets_per_image=130)  # > 100 per image: the detection limit matters
    assert_identical(ours(gt, dets), pycocotools_eval(gt, dets))


@pytest.mark.parametrize('seed', range(2))
def test_custom_ranges_1500_detections_and_thresholds_identical(seed):
    """AI-TOD and TinyPerson borders, up to 1500 detections, an unusual IoU grid (1.0 is capped by pycocotools)."""
    gt, dets = random_coco_problem(10 + seed, num_images=8, dets_per_image=1700, exact_dets=True)
    iou_thrs, max_dets = np.array([0.25, 0.5, 0.6, 0.75, 1.0]), [1, 100, 1500]
    reference = pycocotools_eval(gt, dets, area_ranges=AITOD_AND_TINYPERSON, max_dets=max_dets, iou_thrs=iou_thrs)
    assert_identical(ours(gt, dets, iou_thrs=iou_thrs, area_ranges=AITOD_AND_TINYPERSON, max_dets=max_dets),
                     reference)


def test_box_area_identical_to_pycocotools_on_box_areas():
    """Issue-5 trap: editing ``coco.dataset`` in place is lost on hotcoco (a copy); the box areas must land."""
    gt, dets = random_coco_problem(20)
    frozen = hotcoco.COCO(gt)
    data = frozen.dataset
    for ann in data['annotations']:
        ann['area'] = 1.0
    assert frozen.dataset['annotations'][0]['area'] == gt['annotations'][0]['area']  # the trap itself
    reference = pycocotools_eval(box_area_gt(gt), dets)
    assert_identical(ours(gt, dets, area_source='box'), reference)
    assert not np.array_equal(ours(gt, dets).precision, reference.eval['precision'])  # the area source matters


def test_parameters_assigned_whole_and_verified():
    """Issue-5 trap: ``ev.params.maxDets.append(...)`` mutates a copy; ours assigns and reads every value back."""
    gt_dict, dets = random_coco_problem(5)
    gt = GroundTruth.from_coco(hotcoco.COCO(gt_dict))
    dt = gt.coco.load_res(dets)
    naive = hotcoco.COCOeval(gt.coco, dt, 'bbox')
    naive.params.maxDets.append(1500)
    assert naive.params.maxDets == [1, 10, 100]  # the append went nowhere
    ev = configured_cocoeval(gt, dt, [0.3, 0.5], [(0, 1e10), (0, 64)], [1, 100, 1500], [2, 5], ['all', 'tiny'])
    assert ev.params.maxDets == [1, 100, 1500] and ev.params.areaRng == [[0, 1e10], [0, 64]]
    assert ev.params.iouThrs == [0.3, 0.5] and ev.params.catIds == [2, 5] and ev.params.areaRngLbl == ['all', 'tiny']


def test_float32_iou_grid():
    """A grid built in float32, as torch.linspace builds it."""
    gt, dets = random_coco_problem(6)
    grid = np.linspace(.5, .95, 10).astype(np.float32).astype(np.float64)
    assert_identical(ours(gt, dets, iou_thrs=grid), pycocotools_eval(gt, dets, iou_thrs=grid))


def test_empty_results_identical():
    gt, _ = random_coco_problem(1)
    result, reference = ours(gt, []), pycocotools_eval(gt, [])
    assert_identical(result, reference)
    assert (result.precision == 0).any() and (result.precision == -1).any()  # 0 with ground truth, -1 without


def test_problem_exercises_the_edge_cases():
    """Guards the generator: the problems above must contain what they claim to test."""
    gt, dets = random_coco_problem(0)
    has_gt = {a['image_id'] for a in gt['annotations']}
    assert len(has_gt) < len(gt['images'])
    assert any(a['iscrowd'] for a in gt['annotations'])
    assert {d['image_id'] for d in dets} - has_gt  # detections on images without annotations
    assert np.diff(sorted(c['id'] for c in gt['categories'])).min() > 1  # non-contiguous category ids
    precision = pycocotools_eval(gt, dets).eval['precision']
    assert (precision[0, 0, :, 1, 2] == -1).any()  # a class without small objects
    assert (precision[0, 0, :, 0, 2] == -1).any()  # a class without any ground truth
    assert len({d['score'] for d in dets}) < len(dets)  # tied scores


def test_num_gt_counts_non_crowd_objects_inclusively():
    gt_dict, _ = random_coco_problem(2)
    gt = GroundTruth.from_coco(hotcoco.COCO(gt_dict))
    counts = gt.num_gt(gt.cat_ids, [(0, 1e10), (0, 256), (256, 256)])
    anns = [a for a in gt_dict['annotations'] if not a['iscrowd']]
    assert counts[:, 0].sum() == len(anns)
    assert counts[:, 1].sum() == sum(a['area'] <= 256 for a in anns)
    assert counts[:, 2].sum() == sum(a['area'] == 256 for a in anns) > 0  # border objects count in both ranges


def test_annotation_id_zero_warns():
    gt, dets = random_coco_problem(3, first_ann_id=0)
    with pytest.warns(UserWarning, match='annotation id 0'):
        GroundTruth.from_coco(hotcoco.COCO(gt))
    shifted = dict(gt, annotations=[dict(a, id=a['id'] + 1) for a in gt['annotations']])
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert_identical(ours(shifted, dets), pycocotools_eval(shifted, dets))
