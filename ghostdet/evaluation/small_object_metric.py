"""``SmallObjectMetric``: mmdet's ``CocoMetric`` with object-size ranges, error analysis and the hotcoco backend."""
import os.path as osp
import tempfile
import warnings
from collections import OrderedDict
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence, Union

from mmdet.evaluation.metrics import CocoMetric
from mmdet.registry import METRICS
from mmengine.logging import MMLogger

from .backend import GroundTruth
from .coco_io import detections_from_predictions, validate_detections
from .small_object_eval import (COCO_MAX_DETS, AreaRangeSpec, evaluate_small_objects, format_tables,
                                resolve_area_ranges, resolve_max_dets, standard_keys)

_MMDET_STANDARD = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
# the metric items CocoMetric knows (for its segm and proposal metrics)
_COCO_METRIC_ITEMS = (*_MMDET_STANDARD, 'AR@100', 'AR@300', 'AR@1000', 'AR_s@1000', 'AR_m@1000', 'AR_l@1000')


def mmdet_metric_names(keys: Sequence[str], max_dets: Sequence[int] = COCO_MAX_DETS) -> Dict[str, str]:
    """Summary key -> CocoMetric-style name: ``AP -> mAP``, ``AR100 -> AR@100``, ``ARs -> AR_s@<m2>``,
    ``AP50_tiny -> mAP_50_tiny``, ``AR1500_tiny -> AR@1500_tiny``; ``R50_*``, ``num_gt_*``, ``*_<range>`` of
    the error analysis unchanged."""
    standard = standard_keys(max_dets)
    names = dict(zip(standard, (*_MMDET_STANDARD, *(f'AR@{m}' for m in max_dets),
                                *(f'AR_{s}@{max_dets[2]}' for s in 'sml'))))
    for key in keys:
        head, _, rng = key.partition('_')
        if key in names or not rng:
            continue
        if head == 'AP':
            names[key] = f'mAP_{rng}'
        elif head in ('AP50', 'AP75'):
            names[key] = f'mAP_{head[2:]}_{rng}'
        elif head.startswith('AR'):
            names[key] = f'AR@{head[2:]}_{rng}'
    return {key: names.get(key, key) for key in keys}


@METRICS.register_module()
class SmallObjectMetric(CocoMetric):
    """mmdet's ``CocoMetric``, same arguments and results, with its box evaluation on hotcoco plus AP / AR per
    object-size range and TIDE's error analysis.

    ``metric='segm'``, ``'proposal'`` and ``'proposal_fast'`` (alone or in a list with ``'bbox'``) are computed by
    ``CocoMetric`` itself, so swapping the metric type loses nothing; bad arguments raise what ``CocoMetric`` raises.

    For ``'bbox'`` it reports under ``{prefix}/bbox_``, rounded to 3 decimals as ``CocoMetric``: the 12 numbers of
    pycocotools' ``COCOeval.summarize()`` with ``maxDets = max_dets`` (``mAP, mAP_50, mAP_75, mAP_s, mAP_m, mAP_l,
    AR@m0, AR@m1, AR@m2, AR_s@m2, AR_m@m2, AR_l@m2``), and per extra area range ``r``: ``mAP_r, mAP_50_r, mAP_75_r``
    at the range detection limit ``N``, ``AR@100_r`` (and ``AR@N_r``), ``R50_r`` (recall at IoU 0.5 with ``N``
    detections: the share of the objects found at all) and ``num_gt_r``; -1 where there is no ground truth.

    **Detection limits.** ``CocoMetric`` evaluates boxes with ``maxDets = proposal_nums = (100, 300, 1000)``: its
    mAP is read at 100 detections per image but mAP_50 ... mAP_l at 1000, so the same detections score differently
    from pycocotools' standard ``(1, 10, 100)``, which is this metric's default. ``max_dets=(100, 300, 1000)``
    reproduces ``CocoMetric``'s numbers (and names: ``AR@1000``, ``AR_s@1000``).

    Args:
        ann_file (str, optional): COCO annotation file. ``None``: converted from the dataset's annotations (box
            area, ``ignore_flag`` as crowd), as ``CocoMetric`` does.
        metric (str | list): ``'bbox'``, ``'segm'``, ``'proposal'``, ``'proposal_fast'`` or a list of them.
        classwise (bool): Log per-class tables for 'all' and every extra range; add ``{class}_precision`` (AP at
            ``max_dets[2]``, nan without ground truth) as ``CocoMetric`` does.
        proposal_nums (sequence): Proposal numbers of the ``'proposal'`` / ``'proposal_fast'`` metrics.
        iou_thrs (float | list, optional): IoU thresholds averaged into mAP / AR (default 0.50:0.05:0.95).
        metric_items (list[str], optional): Result names to report (e.g. ``['mAP', 'mAP_tiny']``); default all.
            An unknown name raises ``KeyError`` as in ``CocoMetric``, here when the metric is built.
        format_only (bool): Only write the results json (``outfile_prefix`` required), no evaluation.
        outfile_prefix (str, optional): Where to write ``<prefix>.bbox.json``; default: a temporary directory.
        file_client_args, backend_args, collect_device, prefix, sort_categories, use_mp_eval: As ``CocoMetric``
            (``use_mp_eval`` only affects the delegated metrics).
        area_ranges (str | dict): ``'aitod'`` (default: very tiny 0-8², tiny 8²-16², small 16²-32², medium > 32²,
            up to 1500 detections per image), ``'tinyperson'`` (sqrt-area bins 1-20 / 1-8 / 8-12 / 12-20 / 20-32 / >32,
            200 detections), ``'coco'`` (standard numbers only) or ``dict(name=(min_area, max_area))`` in px²
            (inclusive bounds, like pycocotools).
        max_dets (sequence): The summary's detection limits as pycocotools' ``maxDets`` (must include 100): default
            ``(1, 10, 100)``, COCO's standard; ``(100, 300, 1000)`` for ``CocoMetric``'s numbers (see above).
        range_max_dets (int, optional): Detections per image for the range numbers; default: the preset's (100 for
            a dict).
        area_source (str): Object area for the ranges: ``'annotation'`` (default; the json's ``area`` field, as
            pycocotools: for COCO the mask area) or ``'box'`` (``w * h`` of the box, AI-TOD's convention).
        error_analysis (bool): Log TIDE's error breakdown per size range and the confusion matrix, and report
            ``bbox_dAP_<type>_<range>`` (AP50 gained by fixing each error type).
        tide_thrs (sequence): TIDE's ``(pos_thr, bg_thr)`` IoU thresholds.
        drop_invalid (bool): Drop and count invalid detections (NaN/inf, non-positive sizes) instead of raising.
    """

    def __init__(self,
                 ann_file: Optional[str] = None,
                 metric: Union[str, List[str]] = 'bbox',
                 classwise: bool = False,
                 proposal_nums: Sequence[int] = (100, 300, 1000),
                 iou_thrs: Optional[Union[float, Sequence[float]]] = None,
                 metric_items: Optional[Sequence[str]] = None,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 file_client_args: dict = None,
                 backend_args: dict = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 sort_categories: bool = False,
                 use_mp_eval: bool = False,
                 area_ranges: AreaRangeSpec = 'aitod',
                 max_dets: Sequence[int] = COCO_MAX_DETS,
                 range_max_dets: Optional[int] = None,
                 area_source: str = 'annotation',
                 error_analysis: bool = False,
                 tide_thrs: Sequence[float] = (0.5, 0.1),
                 drop_invalid: bool = False) -> None:
        super().__init__(ann_file=ann_file, metric=metric, classwise=classwise, proposal_nums=proposal_nums,
                         iou_thrs=iou_thrs, metric_items=metric_items, format_only=format_only,
                         outfile_prefix=outfile_prefix, file_client_args=file_client_args, backend_args=backend_args,
                         collect_device=collect_device, prefix=prefix, sort_categories=sort_categories,
                         use_mp_eval=use_mp_eval)
        if area_source not in ('annotation', 'box'):
            raise ValueError(f"area_source must be 'annotation' or 'box', got {area_source!r}")
        self.area_ranges, self.range_max_dets = resolve_area_ranges(area_ranges, range_max_dets)
        self.max_dets = resolve_max_dets(max_dets)
        self.area_source = area_source
        self.error_analysis = error_analysis
        self.tide_thrs = tuple(tide_thrs)
        self.drop_invalid = drop_invalid
        if metric_items is not None and 'bbox' in self.metrics:
            known = set(self._bbox_metric_names())
            known |= set(_COCO_METRIC_ITEMS) if set(self.metrics) - {'bbox'} else set()
            for item in metric_items:
                if item not in known:
                    raise KeyError(f'metric item "{item}" is not supported')

    def _bbox_metric_names(self) -> List[str]:
        keys = standard_keys(self.max_dets)
        for name in self.area_ranges:
            keys += [f'AP_{name}', f'AP50_{name}', f'AP75_{name}', f'AR100_{name}', f'R50_{name}', f'num_gt_{name}']
            keys += [f'AR{self.range_max_dets}_{name}'] if self.range_max_dets != 100 else []
        return list(mmdet_metric_names(keys, self.max_dets).values())

    @contextmanager
    def _as_coco_metric(self, metrics: List[str]):
        """Let ``CocoMetric.compute_metrics`` run the given metrics, with the metric items it knows."""
        saved = self.metrics, self.metric_items
        self.metrics = metrics
        if self.metric_items is not None:
            self.metric_items = [m for m in self.metric_items if m in _COCO_METRIC_ITEMS] or None
        try:
            yield
        finally:
            self.metrics, self.metric_items = saved

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Evaluate the collected ``(gt, pred)`` pairs of all processes (runs on rank 0)."""
        if self.format_only:
            return super().compute_metrics(results)
        eval_results = OrderedDict()
        for metric in self.metrics:
            if metric == 'bbox':
                eval_results.update(self._compute_bbox(results))
            else:
                with self._as_coco_metric([metric]):
                    eval_results.update(super().compute_metrics(results))
        return eval_results

    def _compute_bbox(self, results: list) -> Dict[str, float]:
        logger: MMLogger = MMLogger.get_current_instance()
        gts, preds = zip(*results)
        with tempfile.TemporaryDirectory() as tmp_dir:
            prefix = self.outfile_prefix or osp.join(tmp_dir, 'results')
            if self._coco_api is None:
                logger.info('Converting ground truth to coco format...')
                from mmdet.datasets.api_wrappers import COCO
                self._coco_api = COCO(self.gt_to_coco_json(gt_dicts=gts, outfile_prefix=prefix))
            if self.cat_ids is None:
                self.cat_ids = self._coco_api.get_cat_ids(cat_names=self.dataset_meta['classes'])
            if self.img_ids is None:
                self.img_ids = self._coco_api.get_img_ids()
            if self.outfile_prefix is not None:
                self.results2json(preds, self.outfile_prefix)

        import hotcoco
        gt = GroundTruth.from_coco(hotcoco.COCO(self._coco_api.dataset), self.area_source, self.cat_ids)
        dets, dropped = validate_detections(detections_from_predictions(preds, self.cat_ids), self.img_ids,
                                            self.cat_ids, 'predictions', self.drop_invalid)
        if dropped:
            logger.warning(f'dropped invalid detections: {dropped}')
        dt = gt.coco.load_res(dets)
        if not len(dets):
            logger.warning('no detections in the whole test set: AP and AR are 0 wherever there is ground truth')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)  # the empty-results warning is logged above
            report = evaluate_small_objects(gt, dt, self.area_ranges, self.max_dets, self.range_max_dets,
                                            self.iou_thrs)
        logger.info(f'bbox evaluation (object area from {self.area_source}):\n'
                    + format_tables(report, classwise=self.classwise))
        stats = dict(report.stats)
        if self.error_analysis:
            from .error_analysis import errors_as_stats, format_error_tables, tide_by_range
            errors = tide_by_range(gt, dt, self.area_ranges, self.range_max_dets, *self.tide_thrs)
            logger.info('\n' + format_error_tables(errors))
            stats.update({k: v for k, v in errors_as_stats(errors).items() if k.startswith('dAP_')})

        names = mmdet_metric_names(list(stats), self.max_dets)
        eval_results = OrderedDict((f'bbox_{names[k]}', round(float(v), 3)) for k, v in stats.items())
        if self.classwise:
            for cls, row in report.classwise['all'].items():
                eval_results[f'{cls}_precision'] = round(row['AP'], 3) if row['AP'] > -1 else float('nan')
        if self.metric_items is not None:
            wanted = {f'bbox_{m}' for m in self.metric_items}
            eval_results = OrderedDict((k, v) for k, v in eval_results.items() if k in wanted)
        ap = [stats[k] for k in ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl')]
        logger.info('bbox_mAP_copypaste: ' + ' '.join(f'{v:.3f}' for v in ap))
        return eval_results
