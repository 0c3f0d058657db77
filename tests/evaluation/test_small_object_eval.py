"""Summary numbers against pycocotools: the 12 standard ones from ``COCOeval.summarize()``, the range numbers from
``COCOeval`` run with those ranges as its ``areaRng``."""
import numpy as np
import pytest
from random_coco import box_area_gt, coco_api, mean_valid, pycocotools_eval, random_coco_problem

from ghostdet.evaluation import (AREA_RANGE_PRESETS, STANDARD_KEYS, dt_from_results, evaluate_small_objects,
                                 format_tables, gt_from_coco, resolve_area_ranges)


def report_for(gt_dict, dets, area_source='annotation', **kwargs):
    coco = coco_api(gt_dict)
    names = [c['name'] for c in coco.loadCats(coco.getCatIds())]
    return evaluate_small_objects(gt_from_coco(coco, area_source), dt_from_results(dets), coco.getImgIds(),
                                  coco.getCatIds(), category_names=names, **kwargs)


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


@pytest.mark.parametrize('seed', range(4))
def test_standard_numbers_equal_summarize(seed):
    gt, dets = random_coco_problem(seed, max_dets_per_image=130)  # > 100: the 100-detection cut matters
    report = report_for(gt, dets)
    reference = pycocotools_eval(gt, dets).stats
    for i, key in enumerate(STANDARD_KEYS):
        assert abs(report.stats[key] - reference[i]) <= 1e-9, key


@pytest.mark.parametrize('seed', range(3))
def test_aitod_ranges_equal_pycocotools_with_custom_area_rng(seed):
    gt, dets = random_coco_problem(30 + seed, max_dets_per_image=160)
    ranges, max_dets = AREA_RANGE_PRESETS['aitod']
    report = report_for(gt, dets, area_ranges='aitod', max_dets=120)
    assert report.max_dets == 120
    assert_ranges_match(report, range_reference(gt, dets, ranges, 120), 120)
    # a range without ground truth is -1 (class 0 is the only one below 8² px here, and it is not always present)
    assert set(report.ranges) == {'verytiny', 'tiny', 'small', 'medium'} and max_dets == 1500


def test_tinyperson_and_custom_ranges_with_box_area():
    gt, dets = random_coco_problem(40)
    custom = {'below12': (0, 12 ** 2), 'from12to40': (12 ** 2, 40 ** 2), 'empty': (1e8, 1e9)}
    for spec, ranges in (('tinyperson', AREA_RANGE_PRESETS['tinyperson'][0]), (custom, custom)):
        report = report_for(gt, dets, area_source='box', area_ranges=spec, max_dets=100)
        assert_ranges_match(report, range_reference(box_area_gt(gt), dets, ranges, 100), 100)
    assert report.stats['AP_empty'] == -1 and report.stats['num_gt_empty'] == 0
    # the area source changes the range numbers but not which boxes exist
    annotation = report_for(gt, dets, area_ranges=custom)
    assert annotation.stats['num_gt_below12'] > report.stats['num_gt_below12']


def test_custom_iou_thresholds():
    gt, dets = random_coco_problem(41)
    thrs = [0.3, 0.5, 0.75]
    report = report_for(gt, dets, area_ranges='aitod', max_dets=100, iou_thrs=thrs)
    assert_ranges_match(report, range_reference(gt, dets, AREA_RANGE_PRESETS['aitod'][0], 100, thrs), 100)
    # AP50 / AP75 are found even when the grid lacks the exact float (pycocotools' equality lookup would give -1)
    report = report_for(gt, dets, iou_thrs=np.linspace(.1, .9, 17))
    assert report.stats['AP50'] > 0 and report.stats['AP75'] > 0


def test_classwise_tables_match_pycocotools():
    gt, dets = random_coco_problem(42)
    report = report_for(gt, dets, area_ranges='aitod', max_dets=100)
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


def test_empty_results_warn_and_give_minus_one():
    gt, _ = random_coco_problem(0)
    with pytest.warns(UserWarning, match='no detections'):
        report = report_for(gt, [], area_ranges='aitod')
    assert all(v == -1 for k, v in report.stats.items() if not k.startswith('num_gt'))
    assert report.stats['num_gt_small'] > 0
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


def test_presets():
    assert resolve_area_ranges('coco') == ({}, 100)
    assert resolve_area_ranges(None) == ({}, 100)
    ranges, dets = resolve_area_ranges('aitod')
    assert ranges == {'verytiny': (0, 64), 'tiny': (64, 256), 'small': (256, 1024), 'medium': (1024, 1e10)}
    assert dets == 1500
    ranges, dets = resolve_area_ranges('tinyperson')
    assert ranges['tiny'] == (1, 400) and ranges['tiny2'] == (64, 144) and dets == 200
    assert resolve_area_ranges({'tiny': (0, 256)}, max_dets=300) == ({'tiny': (0.0, 256.0)}, 300)
