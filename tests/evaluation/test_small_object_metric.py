"""SmallObjectMetric in mmdet's evaluator flow, against pycocotools on the results json CocoMetric would write."""
import json
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from mmengine.config import Config

from random_coco import pycocotools_eval, random_coco_problem
from ghostdet.evaluation import SmallObjectMetric, mmdet_metric_name

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def data_samples(gt_dict, dets, with_instances=False):
    """mmdet-style test outputs: one dict per image, predictions in xyxy (float32 like a model's tensors)."""
    cat_index = {c['id']: i for i, c in enumerate(gt_dict['categories'])}
    samples = []
    for img in gt_dict['images']:
        mine = [d for d in dets if d['image_id'] == img['id']]
        xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in (d['bbox'] for d in mine)], np.float32).reshape(-1, 4)
        sample = dict(img_id=img['id'], ori_shape=(img['height'], img['width']),
                      pred_instances=dict(bboxes=torch.from_numpy(xyxy),
                                          scores=torch.tensor([d['score'] for d in mine], dtype=torch.float32),
                                          labels=torch.tensor([cat_index[d['category_id']] for d in mine],
                                                              dtype=torch.long)))
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
    gt_dict, dets = random_coco_problem(3)
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(gt_dict))
    return gt_dict, dets, str(ann_file)


def test_metric_equals_pycocotools_on_the_written_results(problem, tmp_path):
    gt_dict, dets, ann_file = problem
    metric = SmallObjectMetric(ann_file=ann_file, area_ranges='aitod', classwise=True,
                               outfile_prefix=str(tmp_path / 'out'))
    results = run_metric(metric, gt_dict, data_samples(gt_dict, dets))
    # the reference evaluates the json that CocoMetric's results2json wrote (float32 boxes -> xywh doubles)
    written = json.loads((tmp_path / 'out.bbox.json').read_text())
    ref = pycocotools_eval(gt_dict, written)
    names = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR@1', 'AR@10', 'AR@100', 'AR_s@100',
             'AR_m@100', 'AR_l@100']
    np.testing.assert_allclose([results[f'coco/bbox_{n}'] for n in names], ref.stats, rtol=0, atol=1e-12)
    for name in ('verytiny', 'tiny', 'small', 'medium'):
        assert f'coco/bbox_mAP_{name}' in results and f'coco/bbox_AR@1500_{name}' in results
    name = gt_dict['categories'][1]['name']
    assert results[f'coco/{name}_precision'] > -1


def test_ann_file_none_converts_the_dataset(problem):
    """As CocoMetric: ground truth from the data samples, box area, ignore_flag as crowd."""
    gt_dict, dets, _ = problem
    results = run_metric(SmallObjectMetric(area_ranges='coco'), gt_dict, data_samples(gt_dict, dets, True))
    boxed = dict(gt_dict, annotations=[dict(a, area=a['bbox'][2] * a['bbox'][3]) for a in gt_dict['annotations']])
    written = []
    for s in data_samples(gt_dict, dets):  # the float32 round trip of the predictions
        for box, score, label in zip(*(s['pred_instances'][k].numpy() for k in ('bboxes', 'scores', 'labels'))):
            x1, y1, x2, y2 = box.tolist()
            written.append(dict(image_id=s['img_id'], category_id=gt_dict['categories'][label]['id'],
                                bbox=[x1, y1, x2 - x1, y2 - y1], score=float(score)))
    ref = pycocotools_eval(boxed, written)
    assert results['coco/bbox_mAP'] == pytest.approx(ref.stats[0], abs=1e-12)
    assert results['coco/bbox_AR_s@100'] == pytest.approx(ref.stats[9], abs=1e-12)


def test_no_predictions_reports_minus_one(problem):
    gt_dict, _, ann_file = problem
    with pytest.warns(UserWarning, match='no detections'):
        results = run_metric(SmallObjectMetric(ann_file=ann_file), gt_dict, data_samples(gt_dict, []))
    assert results['coco/bbox_mAP'] == -1 and results['coco/bbox_mAP_tiny'] == -1


def test_bad_arguments_and_inputs(problem):
    gt_dict, dets, ann_file = problem
    with pytest.raises(ValueError, match='boxes only'):
        SmallObjectMetric(ann_file=ann_file, metric='segm')
    with pytest.raises(KeyError, match='not reported'):
        SmallObjectMetric(ann_file=ann_file, metric_items=['mAP_huge'])
    samples = data_samples(gt_dict, dets)
    samples[0]['pred_instances']['labels'][:] = 99
    with pytest.raises(ValueError, match='num_classes'):
        run_metric(SmallObjectMetric(ann_file=ann_file), gt_dict, samples)
    samples = data_samples(gt_dict, dets)
    samples[0]['img_id'] = 123456
    with pytest.raises(ValueError, match='not in the annotations'):
        run_metric(SmallObjectMetric(ann_file=ann_file), gt_dict, samples)


def test_metric_items_and_names(problem):
    gt_dict, dets, ann_file = problem
    metric = SmallObjectMetric(ann_file=ann_file, metric_items=['mAP', 'mAP_tiny', 'R50_tiny'])
    results = run_metric(metric, gt_dict, data_samples(gt_dict, dets))
    assert sorted(results) == ['coco/bbox_R50_tiny', 'coco/bbox_mAP', 'coco/bbox_mAP_tiny']
    assert [mmdet_metric_name(k) for k in ('AP50_tiny', 'AR100_tiny', 'AR1500_tiny', 'APs', 'ARl')] == \
        ['mAP_50_tiny', 'AR@100_tiny', 'AR@1500_tiny', 'mAP_s', 'AR_l@100']


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
    queue = mp.get_context('fork').SimpleQueue()  # fork: the workers inherit the imports (CPU only, no CUDA)
    mp.start_processes(_worker, args=(2, port, ann_file, gt_dict, samples, queue), nprocs=2, start_method='fork')
    multi = queue.get()
    assert multi == pytest.approx(single, abs=1e-12)


def test_configs_build():
    from mmdet.registry import METRICS, MODELS
    cfg = Config.fromfile(os.path.join(REPO, 'configs/small_object/faster-rcnn_ghostnet-1.0x_fpn_1x_coco.py'))
    assert cfg.test_evaluator.type == 'SmallObjectMetric' and cfg.test_evaluator.ann_file.endswith('val2017.json')
    cfg.test_evaluator.ann_file = None
    assert isinstance(METRICS.build(cfg.test_evaluator), SmallObjectMetric)
    backbone = MODELS.build(cfg.model.backbone)
    assert list(backbone.out_channels) == cfg.model.neck.in_channels
    assert [f.shape[1] for f in backbone(torch.rand(1, 3, 64, 64))] == cfg.model.neck.in_channels
