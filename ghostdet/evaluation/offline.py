"""Small-object evaluation of result files (``tools/analysis_tools/eval_small_objects.py``): no torch, no mmdet.

Reads the annotations and every results file with hotcoco, prints the tables and, with ``out_dir``, writes
``summary.json`` (one flat mapping, or one per results label), ``classwise.json``, ``ap_recall_vs_size.png`` and,
with the error analysis, ``[<label>_]tide_errors.png`` and ``[<label>_]confusion_matrix.png``.
"""
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence

from .backend import GroundTruth
from .coco_io import load_annotations, load_results
from .small_object_eval import COCO_MAX_DETS, AreaRangeSpec, evaluate_small_objects, format_tables, \
    resolve_area_ranges


def evaluate_result_files(ann_file: str, results: Sequence[str], labels: Optional[Sequence[str]] = None,
                          area_ranges: AreaRangeSpec = 'aitod', max_dets: Sequence[int] = COCO_MAX_DETS,
                          range_max_dets: Optional[int] = None, area_source: str = 'annotation',
                          iou_thrs: Optional[Sequence[float]] = None, classwise: bool = False,
                          error_analysis: bool = False, tide_thrs: Sequence[float] = (0.5, 0.1),
                          confusion_score_thr: float = 0.3, drop_invalid: bool = False,
                          out_dir: Optional[str] = None) -> Dict[str, dict]:
    """Evaluate result files against one annotation file; print and optionally write the report.

    Args:
        ann_file (str): COCO annotation json.
        results (sequence): COCO results jsons and/or mmdet ``tools/test.py --out`` pickles.
        labels (sequence, optional): One name per results file (default: the file names).
        area_ranges, max_dets, range_max_dets, iou_thrs: As :func:`~.small_object_eval.evaluate_small_objects`.
        area_source (str): ``'annotation'`` (the ``area`` field) or ``'box'`` (``w * h``).
        classwise (bool): Per-class tables (and ``classwise.json``).
        error_analysis (bool): TIDE errors per size range and the confusion matrix (:mod:`.error_analysis`).
        tide_thrs (sequence): TIDE's ``(pos_thr, bg_thr)``; the confusion matrix matches at ``pos_thr``.
        confusion_score_thr (float): Detections below this score are left out of the confusion matrix.
        drop_invalid (bool): Drop (and count) invalid detections instead of stopping at the first.
        out_dir (str, optional): Where to write the json files and plots.

    Returns:
        dict: ``{label: summary}``.

    Raises:
        ValueError: Unreadable or invalid inputs, with the file and the first offending entry named.
    """
    ranges, range_dets = resolve_area_ranges(area_ranges, range_max_dets)
    labels = list(labels) if labels else [osp.splitext(osp.basename(p))[0] for p in results]
    if len(labels) != len(results) or len(set(labels)) != len(labels):
        raise ValueError(f'labels: need {len(results)} distinct names, got {labels}')
    gt = GroundTruth.from_coco(load_annotations(ann_file), area_source)
    summaries, tables, curves = {}, {}, {}
    for label, path in zip(labels, results):
        dt, dropped = load_results(path, gt, drop_invalid)
        report = evaluate_small_objects(gt, dt, ranges, max_dets, range_dets, iou_thrs)
        print(f'\n== {label} ({path}), object area from {area_source}')
        if dropped:
            print(f'dropped invalid detections: {dropped}')
        print(format_tables(report, classwise=classwise))
        summaries[label], tables[label] = dict(report.stats, num_dropped=sum(dropped.values())), report.classwise
        if error_analysis:
            summaries[label].update(_error_analysis(gt, dt, ranges, range_dets, tide_thrs, confusion_score_thr,
                                                    out_dir, label if len(labels) > 1 else ''))
        if out_dir:
            from .plots import size_bins
            curves[label] = evaluate_small_objects(gt, dt, size_bins(), max_dets, range_dets, iou_thrs).stats
    if out_dir:
        from .plots import plot_size_curves
        os.makedirs(out_dir, exist_ok=True)
        single = len(labels) == 1
        _write_json(osp.join(out_dir, 'summary.json'), summaries[labels[0]] if single else summaries)
        if classwise:
            _write_json(osp.join(out_dir, 'classwise.json'), tables[labels[0]] if single else tables)
        plot_size_curves(curves, range_dets, osp.join(out_dir, 'ap_recall_vs_size.png'))
        print(f'\nwrote summary.json and the plots to {out_dir}')
    return summaries


def _error_analysis(gt, dt, ranges, max_det, tide_thrs, score_thr, out_dir, label) -> dict:
    from .error_analysis import confusion_matrix, errors_as_stats, format_error_tables, tide_by_range
    pos_thr, bg_thr = tide_thrs
    errors = tide_by_range(gt, dt, ranges, max_det, pos_thr, bg_thr)
    confusion = confusion_matrix(gt, dt, pos_thr, max_det, score_thr)
    print(format_error_tables(errors, confusion))
    if out_dir:
        from .plots import plot_errors
        os.makedirs(out_dir, exist_ok=True)
        plot_errors(errors, confusion, osp.join(out_dir, f'{label}_' if label else ''))
    return dict(errors_as_stats(errors),
                confusion_matrix=dict(names=confusion['names'], matrix=confusion['matrix'].tolist(),
                                      iou_thr=pos_thr, score_thr=score_thr))


def _write_json(path: str, data) -> None:
    with open(path, 'w') as f:
        json.dump(data, f, indent=1)
