"""Evaluation: ``SmallObjectMetric`` (registered in mmdet METRICS on import) and its vectorised COCO backend."""
from .box_eval import BoxSet, EvalResult, box_iou_coco, dt_from_results, evaluate_boxes, gt_from_coco
from .small_object_eval import (AREA_RANGE_PRESETS, STANDARD_KEYS, SmallObjectReport, evaluate_small_objects,
                                format_tables, resolve_area_ranges)
from .small_object_metric import SmallObjectMetric, mmdet_metric_name

__all__ = [
    'AREA_RANGE_PRESETS', 'STANDARD_KEYS', 'BoxSet', 'EvalResult', 'SmallObjectMetric', 'SmallObjectReport',
    'box_iou_coco', 'dt_from_results', 'evaluate_boxes', 'evaluate_small_objects', 'format_tables', 'gt_from_coco',
    'mmdet_metric_name', 'resolve_area_ranges'
]
