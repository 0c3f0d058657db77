"""Small-object evaluation: pycocotools' 12 summary numbers plus AP / AR per named object-size range.

Used by :class:`~ghostdet.evaluation.SmallObjectMetric` (mmdet's test loop) and
``tools/analysis_tools/eval_small_objects.py`` (result files), on the hotcoco backend (:mod:`.backend`).

Summary keys (fractions, -1 where there is no ground truth):

* ``AP, AP50, AP75, APs, APm, APl, AR<m0>, AR<m1>, AR<m2>, ARs, ARm, ARl``: exactly pycocotools'
  ``COCOeval.summarize()`` with ``maxDets = max_dets = (m0, m1, m2)``: AP at 100 detections per image, AP50 ... APl
  and ARs ... ARl at ``m2``. ``(1, 10, 100)`` is COCO's standard; ``(100, 300, 1000)`` reproduces mmdet's
  ``CocoMetric`` (its ``proposal_nums``), whose AP50 ... APl are therefore read at 1000 detections. Values are looked
  up by range and detection limit, never by position, so extra ranges do not shift them.
* per extra range ``r``: ``AP_r, AP50_r, AP75_r`` at the range detection limit ``N`` (the preset's, e.g. 1500 for
  AI-TOD), ``AR100_r`` (and ``AR<N>_r``), ``R50_r`` = recall at IoU 0.5 with ``N`` detections (the share of the
  range's objects found at all, whatever the scores; mean over classes as COCO's AR) and ``num_gt_r``.

Area ranges are ``(min_area, max_area)`` in px², inclusive at both ends as in pycocotools and the AI-TOD toolkit
(an object of exactly 16² px counts as ``tiny`` and ``small``).
"""
import re
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .backend import COCO_AREA_RANGES, COCO_IOU_THRS, EvalArrays, GroundTruth, evaluate

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
COCO_MAX_DETS = (1, 10, 100)
MMDET_MAX_DETS = (100, 300, 1000)  # CocoMetric's proposal_nums, which it uses as maxDets for bbox
AreaRangeSpec = Union[None, str, Mapping[str, Sequence[float]]]


def standard_keys(max_dets: Sequence[int] = COCO_MAX_DETS) -> List[str]:
    """The 12 summary keys for ``max_dets``: ``AP ... APl, AR<m0>, AR<m1>, AR<m2>, ARs, ARm, ARl``."""
    return ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', *(f'AR{m}' for m in max_dets), 'ARs', 'ARm', 'ARl']


def resolve_max_dets(max_dets: Sequence[int] = COCO_MAX_DETS) -> Tuple[int, int, int]:
    """Validate the summary's detection limits: three increasing positive integers, one of them 100 (pycocotools
    reads AP at 100 detections and reports -1 without it)."""
    try:
        values = tuple(int(m) for m in max_dets)
    except (TypeError, ValueError):
        raise ValueError(f'max_dets must be three detection limits such as (1, 10, 100), got {max_dets!r}') from None
    if len(values) != 3 or not 0 < values[0] < values[1] < values[2] or 100 not in values:
        raise ValueError(f'max_dets must be three increasing detection limits including 100, got {max_dets!r}: '
                         f'{COCO_MAX_DETS} is COCO\'s standard, {MMDET_MAX_DETS} mmdet CocoMetric\'s')
    return values


def resolve_area_ranges(spec: AreaRangeSpec = 'aitod',
                        range_max_dets: Optional[int] = None) -> Tuple[Dict[str, Tuple[float, float]], int]:
    """Turn a preset name or a ``{name: (min_area, max_area)}`` dict into validated ranges and a detection limit.

    Args:
        spec: ``'coco'`` (no extra range), ``'aitod'``, ``'tinyperson'``, or a dict of custom ranges in px².
            ``None`` means ``'coco'``.
        range_max_dets (int, optional): Detections per image for the range numbers; default: the preset's (100 for
            a custom dict).

    Returns:
        tuple: ``({name: (min_area, max_area)}, range_max_dets)``.
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
    range_max_dets = preset_dets if range_max_dets is None else int(range_max_dets)
    if range_max_dets < 1:
        raise ValueError(f'range_max_dets must be >= 1, got {range_max_dets}')
    return checked, range_max_dets


def resolve_iou_thrs(iou_thrs: Optional[Union[float, Sequence[float]]]) -> np.ndarray:
    """IoU thresholds averaged into AP / AR (default pycocotools' 0.50:0.05:0.95), validated."""
    thrs = np.asarray(COCO_IOU_THRS if iou_thrs is None else iou_thrs, dtype=np.float64).ravel()
    if thrs.size == 0 or (thrs < 0).any() or (thrs > 1).any():
        raise ValueError(f'iou_thrs must be a non-empty sequence of values in [0, 1], got {iou_thrs!r}')
    return thrs


@dataclass
class SmallObjectReport:
    """Result of :func:`evaluate_small_objects`.

    Attributes:
        stats (dict): Flat summary (see the module doc for the keys).
        classwise (dict): ``{range: {category_name: {AP, AP50, AP75, AR100, R50, num_gt}}}`` for ``'all'`` (at
            ``max_dets[2]``, as CocoMetric's class table) and every extra range (-1 where a class has no ground
            truth in the range).
        ranges (dict): The extra ranges evaluated.
        max_dets (tuple): The summary's detection limits; range_max_dets (int): the range numbers'.
        eval (EvalArrays): The raw accumulated arrays (``COCOeval.eval`` layout).
    """
    stats: Dict[str, float]
    classwise: Dict[str, Dict[str, Dict[str, float]]]
    ranges: Dict[str, Tuple[float, float]]
    max_dets: Tuple[int, int, int]
    range_max_dets: int
    eval: Optional[EvalArrays] = None
    category_names: List[str] = field(default_factory=list)


def _mean_valid(values: np.ndarray) -> float:
    """pycocotools' summary mean: over entries > -1, -1 when there is none."""
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0


def evaluate_small_objects(gt: GroundTruth, dt, area_ranges: AreaRangeSpec = 'aitod',
                           max_dets: Sequence[int] = COCO_MAX_DETS, range_max_dets: Optional[int] = None,
                           iou_thrs: Optional[Sequence[float]] = None) -> SmallObjectReport:
    """Evaluate boxes: pycocotools' summary plus the numbers of each extra area range.

    Args:
        gt (GroundTruth): Annotations (with the area source chosen).
        dt: hotcoco results ``COCO`` of ``gt.coco`` (empty results give pycocotools' numbers: 0 where there is
            ground truth).
        area_ranges: Preset name or ``{name: (min_area, max_area)}`` (see :func:`resolve_area_ranges`).
        max_dets (sequence): The summary's detection limits (see :func:`resolve_max_dets`).
        range_max_dets (int, optional): Detections per image for the range numbers (default: the preset's).
        iou_thrs (sequence, optional): IoU thresholds averaged into AP/AR (default 0.50:0.05:0.95). 0.5 and 0.75
            are evaluated in any case, so AP50/AP75 never read -1 for want of the threshold.

    Returns:
        SmallObjectReport
    """
    ranges, range_dets = resolve_area_ranges(area_ranges, range_max_dets)
    m0, m1, m2 = resolve_max_dets(max_dets)
    user_thrs = resolve_iou_thrs(iou_thrs)
    extra_thrs = [t for t in (0.5, 0.75) if not np.isclose(user_thrs, t).any()]
    thrs = np.concatenate([user_thrs, extra_thrs])
    ap_thrs = np.arange(len(user_thrs))
    t50, t75 = (int(np.flatnonzero(np.isclose(thrs, t))[0]) for t in (0.5, 0.75))
    if not dt.stats()['annotation_count']:
        warnings.warn('no detections to evaluate: AP and AR are 0 wherever there is ground truth', stacklevel=2)

    area_list = list(COCO_AREA_RANGES.values()) + list(ranges.values())
    det_limits = sorted({m0, m1, m2, range_dets})
    result = evaluate(gt, dt, thrs, area_list, det_limits, gt.cat_ids)
    m = {d: det_limits.index(d) for d in det_limits}
    prec, rec = result.precision, result.recall

    def ap(area: int, dets: int, thr_idx=ap_thrs, cats=slice(None)) -> float:
        return _mean_valid(prec[:, :, cats, area, m[dets]][np.atleast_1d(thr_idx)])

    def ar(area: int, dets: int, thr_idx=ap_thrs, cats=slice(None)) -> float:
        return _mean_valid(rec[:, cats, area, m[dets]][np.atleast_1d(thr_idx)])

    values = [ap(0, 100), ap(0, m2, t50), ap(0, m2, t75), ap(1, m2), ap(2, m2), ap(3, m2), ar(0, m0), ar(0, m1),
              ar(0, m2), ar(1, m2), ar(2, m2), ar(3, m2)]
    stats = dict(zip(standard_keys((m0, m1, m2)), values))
    table_ranges = {'all': (0, m2), **{name: (4 + i, range_dets) for i, name in enumerate(ranges)}}
    for name, (a, dets) in table_ranges.items():
        if name == 'all':
            continue
        stats[f'AP_{name}'] = ap(a, dets)
        stats[f'AP50_{name}'] = ap(a, dets, t50)
        stats[f'AP75_{name}'] = ap(a, dets, t75)
        stats[f'AR100_{name}'] = ar(a, 100)
        if dets != 100:
            stats[f'AR{dets}_{name}'] = ar(a, dets)
        stats[f'R50_{name}'] = ar(a, dets, t50)
        stats[f'num_gt_{name}'] = int(result.num_gt[:, a].sum())

    cat_pos = [result.cat_ids.index(c) for c in gt.cat_ids]  # the arrays are sorted by id, the tables in file order
    classwise = {
        name: {cls: dict(AP=ap(a, dets, cats=k), AP50=ap(a, dets, t50, cats=k), AP75=ap(a, dets, t75, cats=k),
                         AR100=ar(a, 100, cats=k), R50=ar(a, dets, t50, cats=k), num_gt=int(result.num_gt[k, a]))
               for cls, k in zip(gt.cat_names, cat_pos)}
        for name, (a, dets) in table_ranges.items()}
    return SmallObjectReport(stats=stats, classwise=classwise, ranges=ranges, max_dets=(m0, m1, m2),
                             range_max_dets=range_dets, eval=result, category_names=list(gt.cat_names))


def _fmt(value: float) -> str:
    return '-' if value < 0 else f'{value:.3f}'


def format_tables(report: SmallObjectReport, classwise: bool = False) -> str:
    """Human-readable tables: the standard summary, one row per extra range, optionally one class table per range."""
    from terminaltables import AsciiTable
    s, keys = report.stats, standard_keys(report.max_dets)
    out = [AsciiTable([keys, [_fmt(s[k]) for k in keys]],
                      title=' COCO summary (maxDets {}/{}/{}) '.format(*report.max_dets)).table]
    if report.ranges:
        n = report.range_max_dets
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
            dets = report.max_dets[2] if name == 'all' else report.range_max_dets
            out.append(AsciiTable(rows, title=f' per class: {name} (maxDets {dets}) ').table)
    return '\n'.join(out)
