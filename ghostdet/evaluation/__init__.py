"""Evaluation on the hotcoco backend: ``SmallObjectMetric`` (mmdet's ``CocoMetric`` drop-in, registered in mmdet's
METRICS by ``import ghostdet``), result-file evaluation, error analysis.

Everything but ``SmallObjectMetric`` imports neither torch nor mmdet; the metric is imported on first use.
"""
from .backend import EvalArrays, GroundTruth
from .coco_io import detections_from_predictions, load_annotations, load_results, validate_detections
from .error_analysis import TIDE_TYPES, confusion_matrix, tide_by_range
from .offline import evaluate_result_files
from .small_object_eval import (AREA_RANGE_PRESETS, COCO_MAX_DETS, MMDET_MAX_DETS, SmallObjectReport,
                                evaluate_small_objects, format_tables, resolve_area_ranges, resolve_max_dets,
                                standard_keys)

__all__ = [
    'AREA_RANGE_PRESETS', 'COCO_MAX_DETS', 'EvalArrays', 'GroundTruth', 'MMDET_MAX_DETS', 'SmallObjectMetric',
    'SmallObjectReport', 'TIDE_TYPES', 'confusion_matrix', 'detections_from_predictions', 'evaluate_result_files',
    'evaluate_small_objects', 'format_tables', 'load_annotations', 'load_results', 'resolve_area_ranges',
    'resolve_max_dets', 'standard_keys', 'tide_by_range', 'validate_detections'
]


def __getattr__(name: str):
    if name == 'SmallObjectMetric':  # needs mmdet (and so torch)
        from .small_object_metric import SmallObjectMetric
        return SmallObjectMetric
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
