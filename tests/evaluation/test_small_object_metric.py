"""SmallObjectMetric as a drop-in for mmdet's CocoMetric (each documented CocoMetric behaviour, checked against
CocoMetric itself) and its box numbers against pycocotools on the results json CocoMetric would write."""
import json
import math
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from mmdet.evaluation.metrics import CocoMetric
from mmengine.config import Config

from ghostdet.evaluation import SmallObjectMetric
from ghostdet.evaluation.small_object_metric import mmdet_metric_names
from ghostdet.testing.coco import pycocotools_eval, random_coco_problem

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STANDARD = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR@1', 'AR@10', 'AR@100', 'AR_s@100', 'AR_m@100',
            'AR_l@100']


def data_samples(gt_dict, dets, with_instances=False, with_masks=False):
    """mmdet-style test outputs: one dict per image, predictions in xyxy (float32 like a model's tensors)."""
    cat_index = {c['id']: i for i, c in enumerate(gt_dict['categories'])}
    samples = []
    for img in gt_dict['images']:
        mine = [d for d in dets if d['image_id'] == img['id']]
        xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in (d['bbox'] for d in mine)], np.float32).reshape(-1, 4)
        pred = dict(bboxes=torch.from_numpy(xyxy), scores=torch.tensor([d['score'] for d in mine]),
                    labels=torch.tensor([cat_index[d['category_id']] for d in mine], dtype=torch.long))
        if with_masks:
            masks = torch.zeros(len(mine), img['height'], img['width'], dtype=torch.bool)
            for mask, (x1, y1, x2, y2) in zip(masks, xyxy.astype(int)):
                mask[y1:y2, x1:x2] = True
            pred['masks'] = masks
        sample = dict(img_id=img['id'], ori_shape=(img['height'], img['width']), pred_instances=pred)
        if with_instances:
            sample['instances'] = [dict(bbox=[x, y, x + w, y + h], bbox_label=cat_index[a['category_id']],
                                        ignore_flag=a['iscrowd'])
                                   for a in gt_dict['annotations'] if a['image_id'] == img['id']
                                   for x, y, w, h in [a['bbox']]]
        samples.append(sample)
    return samples


def run_metric(metric, gt_dict, samples):
    metric.dataset_meta = dict(classes=tuple(c['name'] for c in gt_dict['categories']))
    metric.process({}, samples)
    return metric.evaluate(size=len(samples))


@pytest.fixture
def problem(tmp_path):
    gt_dict, dets = random_coco_problem(3, dets_per_image=60)
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(gt_dict))
    return gt_dict, dets, str(ann_file)


@pytest.fixture
def mask_problem(tmp_path):
    """A small problem whose objects carry rectangle polygons, for segm."""
    gt_dict, dets = random_coco_problem(4, num_images=5, dets_per_image=8)
    for a in gt_dict['annotations']:
        x, y, w, h = a['bbox']
        a['segmentation'] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    ann_file = tmp_path / 'masks.json'
    ann_file.write_text(json.dumps(gt_dict))
    return gt_dict, dets, str(ann_file)


def assert_same_results(ours, reference, keys=None):
    for key in keys or reference:
        a, b = ours[key], reference[key]
        assert (math.isnan(a) and math.isnan(b)) or a == b, (key, a, b)


def test_default_is_pycocotools_standard_rounded_as_coco_metric(problem, tmp_path):
    gt_dict, dets, ann_file = problem
    metric = SmallObjectMetric(ann_file=ann_file, area_ranges='aitod', outfile_prefix=str(tmp_path / 'out'))
    results = run_metric(metric, gt_dict, data_samples(gt_dict, dets))
    written = json.loads((tmp_path / 'out.bbox.json').read_text())  # float32 boxes -> xywh doubles
    reference = pycocotools_eval(gt_dict, written).stats
    assert [results[f'coco/bbox_{n}'] for n in STANDARD] == [round(v, 3) for v in reference]
    assert all(v == round(v, 3) for v in results.values())
    for name in ('verytiny', 'tiny', 'small', 'medium'):
        assert f'coco/bbox_mAP_{name}' in results and f'coco/bbox_AR@1500_{name}' in results


def test_mmdet_max_dets_reproduce_coco_metric(problem):
    """CocoMetric reads AP50..APl at 1000 detections (its proposal_nums); max_dets=(100, 300, 1000) gives its
    numbers, keys and class precisions exactly; the default (1, 10, 100) differs where > 100 detections matter."""
    gt_dict, dets, ann_file = problem
    gt_dict, dets = random_coco_problem(8, num_images=10, num_classes=3, dets_per_image=700, exact_dets=True)
    with open(ann_file, 'w') as f:
        json.dump(gt_dict, f)
    samples = data_samples(gt_dict, dets)
    reference = run_metric(CocoMetric(ann_file=ann_file, classwise=True), gt_dict, samples)
    ours = run_metric(SmallObjectMetric(ann_file=ann_file, classwise=True, area_ranges='coco',
                                        max_dets=(100, 300, 1000)), gt_dict, samples)
    assert_same_results(ours, reference)
    assert {'coco/bbox_AR@1000', 'coco/bbox_AR_s@1000'} <= set(ours)
    standard = run_metric(SmallObjectMetric(ann_file=ann_file, area_ranges='coco'), gt_dict, samples)
    assert standard['coco/bbox_mAP'] == reference['coco/bbox_mAP']  # both at 100 detections
    read_at_m2 = [f'coco/bbox_{n}' for n in ('mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')]
    assert any(standard[k] < reference[k] for k in read_at_m2)  # 100 vs 1000 detections


def test_segm_and_proposals_are_coco_metrics_own(mask_problem):
    gt_dict, dets, ann_file = mask_problem
    samples = data_samples(gt_dict, dets, with_masks=True)
    metrics = ['bbox', 'segm', 'proposal']
    reference = run_metric(CocoMetric(ann_file=ann_file, metric=metrics), gt_dict, samples)
    ours = run_metric(SmallObjectMetric(ann_file=ann_file, metric=metrics, max_dets=(100, 300, 1000)), gt_dict,
                      samples)
    assert_same_results(ours, reference)
    assert any(k.startswith('coco/segm_') for k in ours) and 'coco/AR@100' in ours
    only_segm = run_metric(SmallObjectMetric(ann_file=ann_file, metric='segm'), gt_dict, samples)
    assert_same_results(only_segm, {k: v for k, v in reference.items() if k.startswith('coco/segm_')})
    assert not any(k.startswith('coco/bbox_') for k in only_segm)
    # mmdet 3.3.0's proposal_fast stacks per-image box lists of different lengths, which numpy >= 1.24 refuses:
    # the delegated metric fails exactly as CocoMetric does
    with pytest.raises(Exception) as coco_error:
        run_metric(CocoMetric(ann_file=ann_file, metric='proposal_fast'), gt_dict, samples)
    with pytest.raises(type(coco_error.value)) as ours_error:
        run_metric(SmallObjectMetric(ann_file=ann_file, metric='proposal_fast'), gt_dict, samples)
    assert str(ours_error.value) == str(coco_error.value)


@pytest.mark.parametrize('kwargs', [
    dict(metric='bboxx'),
    dict(metric=['bbox', 'mask']),
    dict(file_client_args=dict(backend='local')),
    dict(format_only=True),
])
def test_bad_arguments_raise_as_coco_metric(problem, kwargs):
    *_, ann_file = problem
    with pytest.raises(Exception) as reference:
        CocoMetric(ann_file=ann_file, **kwargs)
    with pytest.raises(type(reference.value)) as ours:
        SmallObjectMetric(ann_file=ann_file, **kwargs)
    assert str(ours.value) == str(reference.value)


def test_unknown_metric_item_raises_as_coco_metric(problem):
    gt_dict, dets, ann_file = problem
    with pytest.raises(KeyError) as reference:
        run_metric(CocoMetric(ann_file=ann_file, metric_items=['mAP_huge']), gt_dict, data_samples(gt_dict, dets))
    with pytest.raises(KeyError) as ours:  # here already when the metric is built
        SmallObjectMetric(ann_file=ann_file, metric_items=['mAP_huge'])
    assert str(ours.value) == str(reference.value)


def test_metric_items_and_names(problem):
    gt_dict, dets, ann_file = problem
    metric = SmallObjectMetric(ann_file=ann_file, metric_items=['mAP', 'mAP_tiny', 'R50_tiny'])
    results = run_metric(metric, gt_dict, data_samples(gt_dict, dets))
    assert sorted(results) == ['coco/bbox_R50_tiny', 'coco/bbox_mAP', 'coco/bbox_mAP_tiny']
    names = mmdet_metric_names(['AP50_tiny', 'AR100_tiny', 'AR1500_tiny', 'APs', 'ARl', 'AR300'], (100, 300, 1000))
    assert list(names.values()) == ['mAP_50_tiny', 'AR@100_tiny', 'AR@1500_tiny', 'mAP_s', 'AR_l@1000', 'AR@300']


def test_format_only_writes_the_json_coco_metric_writes(problem, tmp_path):
    gt_dict, dets, ann_file = problem
    samples = data_samples(gt_dict, dets)
    for cls, prefix in ((CocoMetric, 'ref'), (SmallObjectMetric, 'ours')):
        metric = cls(ann_file=ann_file, format_only=True, outfile_prefix=str(tmp_path / prefix))
        assert run_metric(metric, gt_dict, samples) == {}
    assert (tmp_path / 'ours.bbox.json').read_text() == (tmp_path / 'ref.bbox.json').read_text()


def test_ann_file_none_converts_the_dataset(problem):
    """As CocoMetric: ground truth from the data samples, box area, ignore_flag as crowd."""
    gt_dict, dets, _ = problem
    samples = data_samples(gt_dict, dets, with_instances=True)
    reference = run_metric(CocoMetric(), gt_dict, samples)
    ours = run_metric(SmallObjectMetric(area_ranges='coco', max_dets=(100, 300, 1000)), gt_dict, samples)
    assert_same_results(ours, reference)


def test_prefix(problem):
    gt_dict, dets, ann_file = problem
    results = run_metric(SmallObjectMetric(ann_file=ann_file, area_ranges='coco', prefix='val'), gt_dict,
                         data_samples(gt_dict, dets))
    assert sorted(results) == sorted(f'val/bbox_{n}' for n in STANDARD)


def test_no_predictions_give_pycocotools_numbers(problem):
    gt_dict, _, ann_file = problem
    results = run_metric(SmallObjectMetric(ann_file=ann_file), gt_dict, data_samples(gt_dict, []))
    assert [results[f'coco/bbox_{n}'] for n in STANDARD] == list(pycocotools_eval(gt_dict, []).stats)
    assert results['coco/bbox_mAP'] == 0 and results['coco/bbox_mAP_tiny'] == 0


def test_invalid_predictions(problem):
    gt_dict, dets, ann_file = problem
    samples = data_samples(gt_dict, dets)
    samples[0]['pred_instances']['labels'][:] = 99
    with pytest.raises(ValueError, match='num_classes'):
        run_metric(SmallObjectMetric(ann_file=ann_file), gt_dict, samples)
    samples = data_samples(gt_dict, dets)
    samples[1]['img_id'] = 123456
    with pytest.raises(ValueError, match='image id that is not in the annotations'):
        run_metric(SmallObjectMetric(ann_file=ann_file), gt_dict, samples)
    samples = data_samples(gt_dict, dets)
    samples[2]['pred_instances']['scores'][0] = float('nan')
    with pytest.raises(ValueError, match='non-finite'):
        run_metric(SmallObjectMetric(ann_file=ann_file), gt_dict, samples)
    dropped = run_metric(SmallObjectMetric(ann_file=ann_file, drop_invalid=True), gt_dict, samples)
    clean = [d for d in dets if d['image_id'] != samples[2]['img_id']]
    clean += [d for d in dets if d['image_id'] == samples[2]['img_id']][1:]
    assert dropped == run_metric(SmallObjectMetric(ann_file=ann_file), gt_dict, data_samples(gt_dict, clean))


def test_error_analysis_results(problem):
    gt_dict, dets, ann_file = problem
    results = run_metric(SmallObjectMetric(ann_file=ann_file, error_analysis=True), gt_dict,
                         data_samples(gt_dict, dets))
    for t in ('Cls', 'Loc', 'Both', 'Dupe', 'Bkg', 'Miss', 'FP', 'FN'):
        assert f'coco/bbox_dAP_{t}_all' in results and f'coco/bbox_dAP_{t}_tiny' in results


def _worker(rank, world_size, port, ann_file, gt_dict, samples, out):
    torch.distributed.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                         world_size=world_size)
    metric = SmallObjectMetric(ann_file=ann_file, collect_device='cpu')
    metric.dataset_meta = dict(classes=tuple(c['name'] for c in gt_dict['categories']))
    metric.process({}, samples[rank::world_size])  # mmengine's DefaultSampler interleaves
    results = metric.evaluate(size=len(samples))
    if rank == 0:
        out.put(results)
    torch.distributed.destroy_process_group()


def test_multi_process_collection(problem):
    gt_dict, dets, ann_file = problem
    samples = data_samples(gt_dict, dets)
    single = run_metric(SmallObjectMetric(ann_file=ann_file), gt_dict, samples)
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    # spawn, not fork: hotcoco's Rust thread pool, started by the evaluations above, does not survive a fork
    queue = mp.get_context('spawn').SimpleQueue()
    mp.start_processes(_worker, args=(2, port, ann_file, gt_dict, samples, queue), nprocs=2, start_method='spawn')
    assert queue.get() == single


def test_configs_build():
    from mmdet.registry import METRICS, MODELS
    cfg = Config.fromfile(os.path.join(REPO, 'configs/small_object/faster-rcnn_ghostnet-1.0x_fpn_1x_coco.py'))
    assert cfg.test_evaluator.type == 'SmallObjectMetric' and cfg.test_evaluator.ann_file.endswith('val2017.json')
    cfg.test_evaluator.ann_file = None
    assert isinstance(METRICS.build(cfg.test_evaluator), SmallObjectMetric)
    backbone = MODELS.build(cfg.model.backbone)
    assert list(backbone.out_channels) == cfg.model.neck.in_channels
    assert [f.shape[1] for f in backbone(torch.rand(1, 3, 64, 64))] == cfg.model.neck.in_channels
