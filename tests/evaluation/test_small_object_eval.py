"""Summary numbers against pycocotools: the 12 standard ones from ``COCOeval.summarize()`` (for COCO's and mmdet's
detection limits), the range numbers from ``COCOeval`` run with those ranges as its ``areaRng``."""
import hotcoco
import numpy as np
import pytest

from ghostdet.evaluation import (AREA_RANGE_PRESETS, GroundTruth, evaluate_small_objects, format_tables,
                                 resolve_area_ranges, resolve_max_dets, standard_keys)
from ghostdet.testing.coco import box_area_gt, mean_valid, pycocotools_eval, random_coco_problem


def report_for(gt_dict, dets, area_source='annotation', **kwargs):
    gt = GroundTruth.from_coco(hotcoco.COCO(gt_dict), area_source)
    return evaluate_small_objects(gt, gt.coco.load_res(dets) if dets else gt.coco.load_res(np.zeros((0, 7))),
                                  **kwargs)


def range_reference(gt_dict, dets, ranges, max_dets, iou_thrs=None):
    """``{name: (AP, AP50, AP75, AR100, ARN, R50)}`` from pycocotools with ``ranges`` as its areaRng."""
    thrs = np.linspace(.5, 0.95, 10) if iou_thrs is None else np.asarray(iou_thrs, dtype=float)
    dets_list = sorted({1, 10, 100, max_dets})
    ref = pycocotools_eval(gt_dict, dets, area_ranges=ranges, max_dets=dets_list, iou_thrs=thrs)
    prec, rec = ref.eval['precision'], ref.eval['recall']
    m100, mn = dets_list.index(100), dets_list.index(max_dets)
    t = {v: int(np.flatnonzero(np.isclose(thrs, v))[0]) for v in (0.5, 0.75)}
    return {name: (mean_valid(prec[..., a, mn]), mean_valid(prec[t[0.5], ..., a, mn]),
                   mean_valid(prec[t[0.75], ..., a, mn]), mean_valid(rec[..., a, m100]), mean_valid(rec[..., a, mn]),
                   mean_valid(rec[t[0.5], :, a, mn]))
            for a, name in enumerate(ranges)}


def assert_ranges_match(report, reference, max_dets):
    s = report.stats
    for name, (ap, ap50, ap75, ar100, arn, r50) in reference.items():
        assert s[f'AP_{name}'] == pytest.approx(ap, abs=1e-12), name
        assert s[f'AP50_{name}'] == pytest.approx(ap50, abs=1e-12), name
        assert s[f'AP75_{name}'] == pytest.approx(ap75, abs=1e-12), name
        assert s[f'AR100_{name}'] == pytest.approx(ar100, abs=1e-12), name
        assert s[f'R50_{name}'] == pytest.approx(r50, abs=1e-12), name
        if max_dets != 100:
            assert s[f'AR{max_dets}_{name}'] == pytest.approx(arn, abs=1e-12), name


@pytest.mark.parametrize('seed', range(3))
@pytest.mark.parametrize('max_dets', [(1, 10, 100), (100, 300, 1000), (1, 100, 1500)])
def test_standard_numbers_equal_summarize(seed, max_dets):
    """COCO's limits, mmdet CocoMetric's (AP at 100, AP50..APl at 1000) and AI-TOD's, exactly as summarize()."""
    gt, dets = random_coco_problem(seed, num_images=12, dets_per_image=1100 if seed == 0 else 130)
    report = report_for(gt, dets, area_ranges='coco', max_dets=max_dets)
    reference = pycocotools_eval(gt, dets, max_dets=max_dets).stats
    assert list(report.stats) == standard_keys(max_dets)
    np.testing.assert_allclose(list(report.stats.values()), reference, rtol=0, atol=1e-12)


@pytest.mark.parametrize('seed', range(2))
def test_aitod_ranges_equal_pycocotools_with_custom_area_rng(seed):
    gt, dets = random_coco_problem(30 + seed, dets_per_image=160)
    ranges, preset_dets = AREA_RANGE_PRESETS['aitod']
    report = report_for(gt, dets, area_ranges='aitod', range_max_dets=120)
    assert report.range_max_dets == 120 and preset_dets == 1500
    assert_ranges_match(report, range_reference(gt, dets, ranges, 120), 120)
    assert set(report.ranges) == {'verytiny', 'tiny', 'small', 'medium'}


def test_tinyperson_and_custom_ranges_with_box_area():
    gt, dets = random_coco_problem(40)
    custom = {'below12': (0, 12 ** 2), 'from12to40': (12 ** 2, 40 ** 2), 'empty': (1e8, 1e9)}
    for spec, ranges in (('tinyperson', AREA_RANGE_PRESETS['tinyperson'][0]), (custom, custom)):
        report = report_for(gt, dets, area_source='box', area_ranges=spec, range_max_dets=100)
        assert_ranges_match(report, range_reference(box_area_gt(gt), dets, ranges, 100), 100)
    assert report.stats['AP_empty'] == -1 and report.stats['num_gt_empty'] == 0
    # the area source changes the range numbers but not which boxes exist
    annotation = report_for(gt, dets, area_ranges=custom)
    assert annotation.stats['num_gt_below12'] > report.stats['num_gt_below12']


def test_custom_iou_thresholds():
    gt, dets = random_coco_problem(41)
    thrs = [0.3, 0.5, 0.75]
    report = report_for(gt, dets, area_ranges='aitod', range_max_dets=100, iou_thrs=thrs)
    assert_ranges_match(report, range_reference(gt, dets, AREA_RANGE_PRESETS['aitod'][0], 100, thrs), 100)
    # AP50 / AP75 are found even when the grid lacks the exact float (pycocotools' equality lookup would give -1)
    report = report_for(gt, dets, iou_thrs=np.linspace(.1, .9, 17))
    assert report.stats['AP50'] > 0 and report.stats['AP75'] > 0


def test_classwise_tables_match_pycocotools():
    gt, dets = random_coco_problem(42)
    report = report_for(gt, dets, area_ranges='aitod', range_max_dets=100)
    ranges = {'all': (0, 1e10), **AREA_RANGE_PRESETS['aitod'][0]}
    ref = pycocotools_eval(gt, dets, area_ranges=ranges, max_dets=[1, 10, 100])
    prec, rec = ref.eval['precision'], ref.eval['recall']
    assert set(report.classwise) == set(ranges)
    for a, name in enumerate(ranges):
        for k, cls in enumerate(f'class{i}' for i in range(5)):
            row = report.classwise[name][cls]
            assert row['AP'] == pytest.approx(mean_valid(prec[:, :, k, a, 2]), abs=1e-12)
            assert row['AP50'] == pytest.approx(mean_valid(prec[0, :, k, a, 2]), abs=1e-12)
            assert row['R50'] == pytest.approx(mean_valid(rec[0, k, a, 2]), abs=1e-12)
    assert report.classwise['all']['class4']['AP'] == -1  # detections but no ground truth
    assert report.classwise['verytiny']['class1']['num_gt'] == 0 and report.classwise['verytiny']['class1']['AP'] == -1
    text = format_tables(report, classwise=True)
    assert 'per class: verytiny' in text and 'class3' in text


def test_empty_results_give_pycocotools_numbers():
    gt, _ = random_coco_problem(0)
    with pytest.warns(UserWarning, match='no detections'):
        report = report_for(gt, [], area_ranges='aitod')
    np.testing.assert_array_equal(list(report.stats.values())[:12], pycocotools_eval(gt, []).stats)
    assert report.stats['AP'] == 0 and report.stats['AP_small'] == 0 and report.stats['num_gt_small'] > 0
    format_tables(report, classwise=True)


def test_images_without_annotations_count_their_false_positives():
    gt, dets = random_coco_problem(7)
    annotated = {a['image_id'] for a in gt['annotations']}
    on_annotated = [d for d in dets if d['image_id'] in annotated]
    assert len(on_annotated) < len(dets)
    full, partial = report_for(gt, dets), report_for(gt, on_annotated)
    assert full.stats['AP'] < partial.stats['AP']
    assert full.stats['AP'] == pytest.approx(pycocotools_eval(gt, dets).stats[0], abs=1e-12)


@pytest.mark.parametrize('spec, message', [
    ('visdrone', 'unknown area-range preset'),
    ({'tiny': (16, 0)}, 'min_area <= max_area'),
    ({'tiny': 16}, 'expected \\(min_area, max_area\\)'),
    ({'very tiny': (0, 64)}, 'letters and digits'),
    (['tiny'], 'preset name or a dict'),
])
def test_bad_area_ranges(spec, message):
    with pytest.raises((ValueError, TypeError), match=message):
        resolve_area_ranges(spec)


@pytest.mark.parametrize('max_dets', [(1, 10, 300), (100, 10, 1000), (1, 100), 'abc'])
def test_bad_max_dets(max_dets):
    with pytest.raises(ValueError, match='max_dets'):
        resolve_max_dets(max_dets)


def test_presets():
    assert resolve_area_ranges('coco') == ({}, 100)
    assert resolve_area_ranges(None) == ({}, 100)
    ranges, dets = resolve_area_ranges('aitod')
    assert ranges == {'verytiny': (0, 64), 'tiny': (64, 256), 'small': (256, 1024), 'medium': (1024, 1e10)}
    assert dets == 1500
    ranges, dets = resolve_area_ranges('tinyperson')
    assert ranges['tiny'] == (1, 400) and ranges['tiny2'] == (64, 144) and dets == 200
    assert resolve_area_ranges({'tiny': (0, 256)}, range_max_dets=300) == ({'tiny': (0.0, 256.0)}, 300)
