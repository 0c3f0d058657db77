"""``SmallObjectMetric``: mmdet's ``CocoMetric`` for boxes, with object-size ranges and a vectorised backend."""
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Union

import numpy as np
from mmdet.datasets.api_wrappers import COCO
from mmdet.evaluation.metrics import CocoMetric
from mmdet.registry import METRICS
from mmengine.logging import MMLogger

from .box_eval import BoxSet, gt_from_coco
from .small_object_eval import STANDARD_KEYS, AreaRangeSpec, evaluate_small_objects, format_tables, \
    resolve_area_ranges

# the 12 standard numbers under mmdet's CocoMetric names (AR at 100 detections, as pycocotools' summary)
_MMDET_NAMES = dict(zip(STANDARD_KEYS, ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR@1', 'AR@10',
                                        'AR@100', 'AR_s@100', 'AR_m@100', 'AR_l@100')))


def mmdet_metric_name(key: str) -> str:
    """Summary key -> metric name: ``AP -> mAP``, ``APs -> mAP_s``, ``AP50_tiny -> mAP_50_tiny``,
    ``AR100_tiny -> AR@100_tiny``, ``R50_tiny`` and ``num_gt_tiny`` unchanged."""
    if key in _MMDET_NAMES:
        return _MMDET_NAMES[key]
    head, _, rng = key.partition('_')
    if key.startswith('num_gt_') or head == 'R50':
        return key
    if head == 'AP':
        return f'mAP_{rng}'
    if head in ('AP50', 'AP75'):
        return f'mAP_{head[2:]}_{rng}'
    return f'AR@{head[2:]}_{rng}'  # ARxxx


@METRICS.register_module()
class SmallObjectMetric(CocoMetric):
    """COCO box evaluation plus AP / AR per object-size range, identical to pycocotools on the standard numbers.

    Reports under ``{prefix}/bbox_``: the 12 numbers of pycocotools' ``COCOeval.summarize()`` with its default
    parameters (``mAP, mAP_50, mAP_75, mAP_s, mAP_m, mAP_l, AR@1, AR@10, AR@100, AR_s@100, AR_m@100, AR_l@100``;
    note that mmdet's ``CocoMetric`` computes mAP_50 ... mAP_l at 1000 detections, pycocotools and this metric at
    100), and per extra area range ``r``: ``mAP_r, mAP_50_r, mAP_75_r`` (at the range detection limit N),
    ``AR@100_r`` (and ``AR@N_r``), ``R50_r`` (recall at IoU 0.5 with N detections: share of the objects found at
    all) and ``num_gt_r``. Values are fractions, -1 where there is no ground truth (or no detection at all).

    Args:
        ann_file (str, optional): COCO annotation file. ``None``: converted from the dataset's annotations (box
            area, ``ignore_flag`` as crowd), as ``CocoMetric`` does.
        metric (str | list): Only ``'bbox'``.
        classwise (bool): Log a per-class table for 'all' and every extra range; add ``{class}_precision`` (AP)
            results as ``CocoMetric`` does.
        area_ranges (str | dict): ``'aitod'`` (default: very tiny 0-8², tiny 8²-16², small 16²-32², medium > 32²,
            up to 1500 detections per image), ``'tinyperson'`` (sqrt-area bins 1-20 / 1-8 / 8-12 / 12-20 / 20-32 / >32,
            200 detections), ``'coco'`` (standard numbers only) or ``dict(name=(min_area, max_area))`` in px²
            (inclusive bounds, like pycocotools).
        max_dets (int, optional): Detections per image for the range numbers; default: the preset's (100 for a dict).
        area_source (str): Object area for the ranges: ``'annotation'`` (default; the json's ``area`` field, as
            pycocotools: for COCO the mask area) or ``'box'`` (``w * h`` of the box, AI-TOD's convention).
        iou_thrs (float | list, optional): IoU thresholds averaged into mAP / AR (default 0.50:0.05:0.95).
        metric_items (list[str], optional): Metric names to report (e.g. ``['mAP', 'mAP_tiny']``); default all.
        format_only (bool): Only write the results json (``outfile_prefix`` required), no evaluation.
        outfile_prefix (str, optional): Where to write ``<prefix>.bbox.json``; default: not written.
        sort_categories (bool): As ``CocoMetric``.
        backend_args (dict, optional): As ``CocoMetric``.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering results across processes.
        prefix (str, optional): Metric name prefix; default ``'coco'``.
    """
    default_prefix: Optional[str] = 'coco'

    def __init__(self,
                 ann_file: Optional[str] = None,
                 metric: Union[str, Sequence[str]] = 'bbox',
                 classwise: bool = False,
                 area_ranges: AreaRangeSpec = 'aitod',
                 max_dets: Optional[int] = None,
                 area_source: str = 'annotation',
                 iou_thrs: Optional[Union[float, Sequence[float]]] = None,
                 metric_items: Optional[Sequence[str]] = None,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 sort_categories: bool = False,
                 backend_args: Optional[dict] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        metrics = [metric] if isinstance(metric, str) else list(metric)
        if metrics != ['bbox']:
            raise ValueError(f"SmallObjectMetric evaluates boxes only (metric='bbox'), got {metric!r}; use mmdet's "
                             'CocoMetric for segm/proposal evaluation')
        if area_source not in ('annotation', 'box'):
            raise ValueError(f"area_source must be 'annotation' or 'box', got {area_source!r}")
        super().__init__(ann_file=ann_file, metric='bbox', classwise=classwise, iou_thrs=iou_thrs,
                         metric_items=None, format_only=format_only, outfile_prefix=outfile_prefix,
                         backend_args=backend_args, collect_device=collect_device, prefix=prefix,
                         sort_categories=sort_categories)
        self.area_ranges, self.max_dets = resolve_area_ranges(area_ranges, max_dets)
        self.area_source = area_source
        self.metric_items = None if metric_items is None else list(metric_items)
        if self.metric_items is not None:
            known = set(self._metric_names())
            unknown = [m for m in self.metric_items if m not in known and not m.endswith('_precision')]
            if unknown:
                raise KeyError(f'metric_items {unknown} are not reported; choose from {sorted(known)}')

    def _metric_names(self):
        keys = list(STANDARD_KEYS)
        for name in self.area_ranges:
            keys += [f'AP_{name}', f'AP50_{name}', f'AP75_{name}', f'AR100_{name}', f'R50_{name}', f'num_gt_{name}']
            keys += [f'AR{self.max_dets}_{name}'] if self.max_dets != 100 else []
        return [mmdet_metric_name(k) for k in keys]

    def _detections(self, preds: Sequence[dict]) -> BoxSet:
        """Predictions -> :class:`BoxSet` with exactly the numbers ``results2json`` would write (float64 xywh)."""
        cat_ids = np.asarray(self.cat_ids, dtype=np.int64)
        img_ids, boxes, scores, labels = [], [], [], []
        for pred in preds:
            n = len(pred['labels'])
            img_ids.append(np.full(n, pred['img_id'], dtype=np.int64))
            boxes.append(np.asarray(pred['bboxes'], dtype=np.float64).reshape(-1, 4))
            scores.append(np.asarray(pred['scores'], dtype=np.float64))
            labels.append(np.asarray(pred['labels'], dtype=np.int64))
        xyxy = np.concatenate(boxes) if boxes else np.zeros((0, 4))
        labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        if len(labels) and (labels.min() < 0 or labels.max() >= len(cat_ids)):
            raise ValueError(f'predicted labels span {labels.min()}..{labels.max()} but the dataset has '
                             f'{len(cat_ids)} classes: num_classes of the head and the dataset classes disagree')
        xywh = np.c_[xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]]
        return BoxSet(image_ids=np.concatenate(img_ids) if img_ids else np.zeros(0, np.int64),
                      category_ids=cat_ids[labels], boxes=xywh, areas=xywh[:, 2] * xywh[:, 3],
                      scores=np.concatenate(scores) if scores else np.zeros(0))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Evaluate the collected ``(gt, pred)`` pairs of all processes (runs on rank 0)."""
        logger: MMLogger = MMLogger.get_current_instance()
        gts, preds = zip(*results)
        tmp_dir = None
        outfile_prefix = self.outfile_prefix
        if outfile_prefix is None:
            tmp_dir = tempfile.TemporaryDirectory()
            outfile_prefix = osp.join(tmp_dir.name, 'results')
        try:
            if self._coco_api is None:
                logger.info('Converting ground truth to coco format...')
                self._coco_api = COCO(self.gt_to_coco_json(gt_dicts=gts, outfile_prefix=outfile_prefix))
            if self.cat_ids is None:
                self.cat_ids = self._coco_api.get_cat_ids(cat_names=self.dataset_meta['classes'])
            if self.img_ids is None:
                self.img_ids = self._coco_api.get_img_ids()
            if self.format_only or self.outfile_prefix is not None:
                self.results2json(preds, outfile_prefix)
            if self.format_only:
                logger.info(f'results are saved in {osp.dirname(outfile_prefix)}')
                return OrderedDict()
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()

        dets = self._detections(preds)
        unknown = np.setdiff1d(dets.image_ids, np.asarray(self.img_ids, dtype=np.int64))
        if len(unknown):
            raise ValueError(f'{len(unknown)} predicted image ids are not in the annotations (e.g. {unknown[:5]}): '
                             'the test dataset and ann_file disagree')
        names = [c['name'] for c in self._coco_api.load_cats(self.cat_ids)]
        if not len(dets):
            logger.warning('no detections in the whole test set: every metric is -1')
        report = evaluate_small_objects(gt_from_coco(self._coco_api, self.area_source), dets, self.img_ids,
                                        self.cat_ids, self.area_ranges, self.max_dets, self.iou_thrs,
                                        category_names=names)
        logger.info(f'bbox evaluation (object area from {self.area_source}):\n'
                    + format_tables(report, classwise=self.classwise))

        eval_results = OrderedDict((f'bbox_{mmdet_metric_name(k)}', v) for k, v in report.stats.items())
        if self.classwise:
            for cls, row in report.classwise['all'].items():
                eval_results[f'{cls}_precision'] = row['AP']
        if self.metric_items is not None:
            wanted = {f'bbox_{m}' for m in self.metric_items} | set(self.metric_items)
            eval_results = OrderedDict((k, v) for k, v in eval_results.items() if k in wanted)
        return eval_results
