"""Small-object evaluation: the 12 standard COCO box numbers plus AP / AR per named object-size range.

Used by :class:`~ghostdet.evaluation.SmallObjectMetric` (mmdet's test loop) and
``tools/analysis_tools/eval_small_objects.py`` (offline, on result files).

Summary keys (fractions, -1 where a range has no ground truth):

* ``AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl``: pycocotools' ``COCOeval.summarize()`` with
  its default ranges and ``maxDets=[1, 10, 100]``, looked up by range and detection limit (not by index), so extra
  ranges or a larger detection limit never shift them.
* per extra range ``r``: ``AP_r, AP50_r, AP75_r`` at the range detection limit ``N`` (the preset's, e.g. 1500 for
  AI-TOD), ``AR100_r`` (and ``AR<N>_r`` when ``N != 100``), ``R50_r`` = recall at IoU 0.5 with ``N`` detections
  (share of the range's objects found at all, whatever the scores; mean over classes as COCO's AR) and
  ``num_gt_r`` (non-crowd ground truths in the range).

Area ranges are ``(min_area, max_area)`` in px², inclusive at both ends as in pycocotools and the AI-TOD toolkit
(an object of exactly 16² px counts as ``tiny`` and ``small``).
"""
import re
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .box_eval import COCO_AREA_RANGES, COCO_IOU_THRS, COCO_MAX_DETS, BoxSet, EvalResult, evaluate_boxes

_INF = 1e5 ** 2  # pycocotools' "no upper bound"

#: Named area-range presets: ``{name: (ranges, detections per image for the range numbers)}``.
AREA_RANGE_PRESETS: Dict[str, Tuple[Dict[str, Tuple[float, float]], int]] = {
    'coco': ({}, 100),
    # jwwangchn/cocoapi-aitod: very tiny / tiny / small / medium, evaluated with up to 1500 detections per image
    'aitod': ({'verytiny': (0, 8 ** 2), 'tiny': (8 ** 2, 16 ** 2), 'small': (16 ** 2, 32 ** 2),
               'medium': (32 ** 2, _INF)}, 1500),
    # TinyPerson (ucas-vg/PointTinyBenchmark) bins on sqrt(area), evaluated with up to 200 detections per image
    'tinyperson': ({'tiny': (1, 20 ** 2), 'tiny1': (1, 8 ** 2), 'tiny2': (8 ** 2, 12 ** 2),
                    'tiny3': (12 ** 2, 20 ** 2), 'small': (20 ** 2, 32 ** 2), 'reasonable': (32 ** 2, _INF)}, 200),
}

STANDARD_KEYS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl')
AreaRangeSpec = Union[None, str, Mapping[str, Sequence[float]]]


def resolve_area_ranges(spec: AreaRangeSpec = 'aitod',
                        max_dets: Optional[int] = None) -> Tuple[Dict[str, Tuple[float, float]], int]:
    """Turn a preset name or a ``{name: (min_area, max_area)}`` dict into validated ranges and a detection limit.

    Args:
        spec: ``'coco'`` (no extra range), ``'aitod'``, ``'tinyperson'``, or a dict of custom ranges in px².
            ``None`` means ``'coco'``.
        max_dets (int, optional): Detections per image for the range numbers; default: the preset's (100 for a
            custom dict).

    Returns:
        tuple: ``({name: (min_area, max_area)}, max_dets)``.
    """
    if spec is None:
        spec = 'coco'
    if isinstance(spec, str):
        if spec not in AREA_RANGE_PRESETS:
            raise ValueError(f'unknown area-range preset {spec!r}; choose one of {sorted(AREA_RANGE_PRESETS)} '
                             'or give a dict(name=(min_area, max_area))')
        ranges, preset_dets = AREA_RANGE_PRESETS[spec]
    elif isinstance(spec, Mapping):
        ranges, preset_dets = dict(spec), 100
    else:
        raise TypeError(f'area_ranges must be a preset name or a dict(name=(min_area, max_area)), got {spec!r}')
    checked = {}
    for name, bounds in ranges.items():
        if not re.fullmatch(r'[A-Za-z0-9]+', str(name)):
            raise ValueError(f'area range name {name!r}: use letters and digits only (it becomes part of key names '
                             'such as AP_<name>)')
        try:
            lo, hi = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise ValueError(f'area range {name!r}: expected (min_area, max_area) in px², got {bounds!r}') from None
        if not 0 <= lo <= hi:
            raise ValueError(f'area range {name!r}: need 0 <= min_area <= max_area, got ({lo}, {hi}); areas are in '
                             'px² (use 16 ** 2, not 16)')
        checked[str(name)] = (lo, hi)
    max_dets = preset_dets if max_dets is None else int(max_dets)
    if max_dets < 1:
        raise ValueError(f'max_dets must be >= 1, got {max_dets}')
    return checked, max_dets


@dataclass
class SmallObjectReport:
    """Result of :func:`evaluate_small_objects`.

    Attributes:
        stats (dict): Flat summary (see the module doc for the keys).
        classwise (dict): ``{range: {category_name: {AP, AP50, AP75, AR100, R50, num_gt}}}`` for ``'all'`` and every
            extra range (-1 where a class has no ground truth in the range).
        ranges (dict): The extra ranges evaluated.
        max_dets (int): Detection limit of the range numbers.
        eval (EvalResult): The raw accumulated arrays (``COCOeval.eval`` layout).
    """
    stats: Dict[str, float]
    classwise: Dict[str, Dict[str, Dict[str, float]]]
    ranges: Dict[str, Tuple[float, float]]
    max_dets: int
    eval: Optional[EvalResult] = None
    category_names: List[str] = field(default_factory=list)


def _mean_valid(values: np.ndarray) -> float:
    """pycocotools' summary mean: over entries > -1, -1 when there is none."""
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0


def evaluate_small_objects(gt: BoxSet, dt: BoxSet, img_ids: Sequence[int], cat_ids: Sequence[int],
                           area_ranges: AreaRangeSpec = 'aitod', max_dets: Optional[int] = None,
                           iou_thrs: Optional[Sequence[float]] = None,
                           category_names: Optional[Sequence[str]] = None) -> SmallObjectReport:
    """Evaluate boxes: the standard COCO summary plus the numbers of each extra area range.

    Args:
        gt (BoxSet): Ground truth (areas already chosen: annotation or box area).
        dt (BoxSet): Detections.
        img_ids (sequence): Every evaluated image id (images without annotations included).
        cat_ids (sequence): Evaluated category ids; the class tables follow this order.
        area_ranges: Preset name or ``{name: (min_area, max_area)}`` (see :func:`resolve_area_ranges`).
        max_dets (int, optional): Detections per image for the range numbers (default: the preset's).
        iou_thrs (sequence, optional): IoU thresholds averaged into AP/AR (default 0.50:0.05:0.95). 0.5 and 0.75
            are evaluated in any case, so AP50/AP75 never read -1 for want of the threshold.
        category_names (sequence, optional): Names for the class tables, in ``cat_ids`` order.

    Returns:
        SmallObjectReport
    """
    ranges, range_dets = resolve_area_ranges(area_ranges, max_dets)
    user_thrs = np.asarray(COCO_IOU_THRS if iou_thrs is None else iou_thrs, dtype=np.float64).ravel()
    if user_thrs.size == 0 or (user_thrs < 0).any() or (user_thrs > 1).any():
        raise ValueError(f'iou_thrs must be a non-empty sequence of values in [0, 1], got {iou_thrs!r}')
    extra_thrs = [t for t in (0.5, 0.75) if not np.isclose(user_thrs, t).any()]
    thrs = np.concatenate([user_thrs, extra_thrs])
    ap_thrs = np.arange(len(user_thrs))
    t50, t75 = (int(np.flatnonzero(np.isclose(thrs, t))[0]) for t in (0.5, 0.75))

    area_list = list(COCO_AREA_RANGES.values()) + list(ranges.values())
    det_limits = sorted(set(COCO_MAX_DETS) | {range_dets})
    cat_ids = [int(c) for c in cat_ids]
    names = [str(c) for c in cat_ids] if category_names is None else [str(n) for n in category_names]
    if len(names) != len(cat_ids):
        raise ValueError(f'{len(names)} category names for {len(cat_ids)} category ids')
    if len(dt) == 0:
        warnings.warn('no detections to evaluate: every metric is reported as -1', stacklevel=2)
    # accumulate only what the summary reads: AR@1/10 for 'all', s/m/l at 100, the extra ranges at 100 and N
    needed = {(0, 1), (0, 10), (0, 100), (1, 100), (2, 100), (3, 100)}
    needed |= {(4 + i, d) for i in range(len(ranges)) for d in (100, range_dets)}
    result = evaluate_boxes(gt, dt, img_ids=img_ids, cat_ids=cat_ids, iou_thrs=thrs, area_ranges=area_list,
                            max_dets=det_limits, accumulate_for=needed)
    if len(dt) == 0:
        result.precision[:] = -1
        result.recall[:] = -1
        result.scores[:] = -1
    # evaluate_boxes sorts categories; the tables keep the caller's order
    cat_pos = [result.cat_ids.index(c) for c in cat_ids]
    m = {d: det_limits.index(d) for d in det_limits}
    prec, rec = result.precision, result.recall

    def ap(area: int, dets: int, thr_idx=ap_thrs, cats=slice(None)) -> float:
        return _mean_valid(prec[:, :, cats, area, m[dets]][np.atleast_1d(thr_idx)])

    def ar(area: int, dets: int, thr_idx=ap_thrs, cats=slice(None)) -> float:
        return _mean_valid(rec[:, cats, area, m[dets]][np.atleast_1d(thr_idx)])

    stats = dict(AP=ap(0, 100), AP50=ap(0, 100, t50), AP75=ap(0, 100, t75), APs=ap(1, 100), APm=ap(2, 100),
                 APl=ap(3, 100), AR1=ar(0, 1), AR10=ar(0, 10), AR100=ar(0, 100), ARs=ar(1, 100), ARm=ar(2, 100),
                 ARl=ar(3, 100))
    table_ranges = {'all': 0, **{name: 4 + i for i, name in enumerate(ranges)}}
    for name, a in table_ranges.items():
        if name == 'all':
            continue
        stats[f'AP_{name}'] = ap(a, range_dets)
        stats[f'AP50_{name}'] = ap(a, range_dets, t50)
        stats[f'AP75_{name}'] = ap(a, range_dets, t75)
        stats[f'AR100_{name}'] = ar(a, 100)
        if range_dets != 100:
            stats[f'AR{range_dets}_{name}'] = ar(a, range_dets)
        stats[f'R50_{name}'] = ar(a, range_dets, t50)
        stats[f'num_gt_{name}'] = int(result.num_gt[:, a].sum())

    classwise = {}
    for name, a in table_ranges.items():
        dets = 100 if name == 'all' else range_dets
        classwise[name] = {
            cls: dict(AP=ap(a, dets, cats=k), AP50=ap(a, dets, t50, cats=k), AP75=ap(a, dets, t75, cats=k),
                      AR100=ar(a, 100, cats=k), R50=ar(a, dets, t50, cats=k), num_gt=int(result.num_gt[k, a]))
            for cls, k in zip(names, cat_pos)
        }
    return SmallObjectReport(stats=stats, classwise=classwise, ranges=ranges, max_dets=range_dets, eval=result,
                             category_names=names)


def _fmt(value: float) -> str:
    return '-' if value < 0 else f'{value:.3f}'


def format_tables(report: SmallObjectReport, classwise: bool = False) -> str:
    """Human-readable tables: the standard summary, one row per extra range, optionally one class table per range."""
    from terminaltables import AsciiTable
    s = report.stats
    out = [AsciiTable([list(STANDARD_KEYS), [_fmt(s[k]) for k in STANDARD_KEYS]],
                      title=' COCO (maxDets 100) ').table]
    if report.ranges:
        n = report.max_dets
        head = ['range', 'area px²', 'sqrt(area) px', '#GT', f'AP@{n}', f'AP50@{n}', f'AP75@{n}', 'AR@100']
        head += [f'AR@{n}'] if n != 100 else []
        head += [f'R50@{n}']
        rows = [head]
        for name, (lo, hi) in report.ranges.items():
            row = [name, f'{lo:g}-{hi:g}' if hi < 1e10 else f'>={lo:g}',
                   f'{lo ** .5:g}-{hi ** .5:g}' if hi < 1e10 else f'>={lo ** .5:g}', str(s[f'num_gt_{name}']),
                   _fmt(s[f'AP_{name}']), _fmt(s[f'AP50_{name}']), _fmt(s[f'AP75_{name}']), _fmt(s[f'AR100_{name}'])]
            row += [_fmt(s[f'AR{n}_{name}'])] if n != 100 else []
            row += [_fmt(s[f'R50_{name}'])]
            rows.append(row)
        out.append(AsciiTable(rows, title=' object-size ranges ').table)
    if classwise:
        for name, per_class in report.classwise.items():
            rows = [['category', 'AP', 'AP50', 'AP75', 'AR@100', 'R50', '#GT']]
            rows += [[cls, *(_fmt(v[k]) for k in ('AP', 'AP50', 'AP75', 'AR100', 'R50')), str(v['num_gt'])]
                     for cls, v in per_class.items()]
            dets = 100 if name == 'all' else report.max_dets
            out.append(AsciiTable(rows, title=f' per class: {name} (maxDets {dets}) ').table)
    return '\n'.join(out)
