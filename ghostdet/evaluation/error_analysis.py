"""Why objects are missed: TIDE's error breakdown per object-size range, and a class confusion matrix (hotcoco).

TIDE (Bolya et al., ECCV 2020; tidecv) files every false positive at IoU ``pos_thr`` under the first that applies:
``Loc`` (same class, IoU in [bg_thr, pos_thr]), ``Cls`` (another class's object at IoU >= pos_thr), ``Dupe`` (the
object was already detected), ``Bkg`` (IoU <= bg_thr with every object), ``Both`` (another class, IoU in between);
an undetected object that no Loc/Cls detection targets is a ``Miss``. ``dAP_<type>`` is the AP50 gained when that
error type is fixed as TIDE fixes it (Loc/Cls detections become true positives, Dupe/Bkg/Both ones are removed,
missed objects leave the object count), averaged over the classes with ground truth; ``dAP_FP`` / ``dAP_FN`` remove
all false positives / all unmatched objects (tests/evaluation/test_error_analysis.py checks these on hand-made
cases). hotcoco computes it (``COCOeval.tide_errors``); per size range it runs on an evaluation whose only area
range is that one, so objects outside it are ignored and so are unmatched detections outside it, exactly as
pycocotools treats a size range.
"""
from typing import Dict, Tuple

import numpy as np

from .backend import AREA_ALL, GroundTruth, configured_cocoeval

TIDE_TYPES = ('Cls', 'Loc', 'Both', 'Dupe', 'Bkg', 'Miss')


def tide_by_range(gt: GroundTruth, dt, ranges: Dict[str, Tuple[float, float]], max_det: int, pos_thr: float = 0.5,
                  bg_thr: float = 0.1) -> Dict[str, dict]:
    """TIDE error counts and dAP for all objects and per size range.

    Args:
        gt (GroundTruth): Annotations.
        dt: hotcoco results ``COCO``.
        ranges (dict): ``{name: (min_area, max_area)}``; ``'all'`` is added first.
        max_det (int): Detections per image (per class).
        pos_thr, bg_thr (float): TIDE's foreground and background IoU thresholds.

    Returns:
        dict: ``{range: {'counts': {type: n}, 'dAP': {type: value, 'FP':, 'FN':}, 'AP50': base AP, 'num_fp': n,
        'num_gt': n}}`` (types as :data:`TIDE_TYPES`).
    """
    if not 0 <= bg_thr <= pos_thr <= 1:
        raise ValueError(f'need 0 <= bg_thr <= pos_thr <= 1, got bg_thr={bg_thr}, pos_thr={pos_thr}')
    out = {}
    for name, bounds in {'all': AREA_ALL, **ranges}.items():
        # the threshold grid is just pos_thr, so hotcoco's nearest-threshold lookup is exact
        ev = configured_cocoeval(gt, dt, [pos_thr], [bounds], [max_det], sorted(gt.cat_ids))
        ev.evaluate()
        tide = ev.tide_errors(pos_thr=pos_thr, bg_thr=bg_thr)
        counts = {t: int(tide['counts'][t]) for t in TIDE_TYPES}
        out[name] = dict(counts=counts, dAP={t: float(tide['delta_ap'][t]) for t in (*TIDE_TYPES, 'FP', 'FN')},
                         AP50=float(tide['ap_base']), num_fp=sum(counts[t] for t in TIDE_TYPES[:-1]),
                         num_gt=int(gt.num_gt(gt.cat_ids, [bounds]).sum()))
    return out


def confusion_matrix(gt: GroundTruth, dt, iou_thr: float = 0.5, max_det: int = 100,
                     min_score: float = 0.0) -> dict:
    """Class confusion over all detections with score >= ``min_score`` (the best ``max_det`` per image), matched to
    objects of any class at IoU >= ``iou_thr``.

    Returns:
        dict: ``matrix`` ``(K+1, K+1)`` counts, rows = ground-truth class, columns = predicted class, index ``K`` =
        background (row ``K``: unmatched detections, column ``K``: missed objects), ``names`` (K class names in file
        order), ``iou_thr``, ``min_score``.
    """
    ev = configured_cocoeval(gt, dt, [iou_thr], [AREA_ALL], [max_det], sorted(gt.cat_ids))
    cm = ev.confusion_matrix(iou_thr=iou_thr, max_det=max_det, min_score=min_score)
    # hotcoco orders by its cat_ids; reorder to the file order of the tables
    order = [list(cm['cat_ids']).index(c) for c in gt.cat_ids] + [len(cm['cat_ids'])]
    matrix = np.asarray(cm['matrix'], dtype=np.int64)[np.ix_(order, order)]
    return dict(matrix=matrix, names=list(gt.cat_names), iou_thr=iou_thr, min_score=min_score)


def format_error_tables(errors: Dict[str, dict], confusion: dict = None) -> str:
    """TIDE table (one row per size range: error counts and dAP) and the confusion matrix as text."""
    from terminaltables import AsciiTable
    head = ['range', '#GT', 'AP50', *(f'{t} n / dAP' for t in TIDE_TYPES), 'dAP FP', 'dAP FN']
    rows = [head] + [[name, str(e['num_gt']), f'{e["AP50"]:.3f}' if e['num_gt'] else '-',
                      *(f'{e["counts"][t]} / {e["dAP"][t]:.3f}' for t in TIDE_TYPES),
                      f'{e["dAP"]["FP"]:.3f}', f'{e["dAP"]["FN"]:.3f}'] for name, e in errors.items()]
    out = [AsciiTable(rows, title=' TIDE errors per object size (counts / AP50 gained when fixed) ').table]
    if confusion is not None:
        names = confusion['names'] + ['(none)']
        rows = [['GT \\ predicted', *names]] + [[n, *map(str, r)] for n, r in zip(names, confusion['matrix'])]
        out.append(f'confusion matrix (IoU >= {confusion["iou_thr"]}, score >= {confusion["min_score"]}):\n'
                   + AsciiTable(rows).table)
    return '\n'.join(out)


def errors_as_stats(errors: Dict[str, dict]) -> Dict[str, float]:
    """Flat summary keys: ``TIDE_<type>_<range>`` (count) and ``dAP_<type>_<range>``."""
    stats = {}
    for name, e in errors.items():
        stats.update({f'TIDE_{t}_{name}': n for t, n in e['counts'].items()})
        stats.update({f'dAP_{t}_{name}': v for t, v in e['dAP'].items()})
    return stats
