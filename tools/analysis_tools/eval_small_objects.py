"""Small-object evaluation of detection results, offline.

    python tools/analysis_tools/eval_small_objects.py ANN_JSON RESULTS [RESULTS ...] [--out-dir DIR]
        [--labels NAME ...] [--area-ranges aitod|tinyperson|coco|'{"tiny": [0, 256], ...}'] [--max-dets N]
        [--area-source annotation|box] [--iou-thrs 0.5 0.75 ...] [--classwise]

RESULTS is a COCO results json (``[{"image_id", "category_id", "bbox": [x, y, w, h], "score"}, ...]``, e.g. from
``CocoMetric(format_only=True, outfile_prefix=...)``) or the pickle written by mmdet's ``tools/test.py --out``
(its labels index the annotation file's categories in file order, as mmdet's ``CocoDataset`` assigns them).

Prints the standard COCO summary, one row per object-size range and (``--classwise``) per-class tables. With
``--out-dir DIR`` it writes ``DIR/summary.json`` (flat: ``AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs,
ARm, ARl`` as fractions plus ``AP_<range>, AP50_<range>, AP75_<range>, AR100_<range>, R50_<range>,
num_gt_<range>``; with several RESULTS, one such mapping per label), ``DIR/classwise.json`` with
``--classwise``, and ``DIR/ap_recall_vs_size.png``: AP and recall at IoU 0.5 against object size on log-scale
sqrt(area) bins, one curve per RESULTS file.
"""
import argparse
import contextlib
import io
import json
import os
import os.path as osp
import pickle
from typing import Dict, Sequence

import numpy as np
from pycocotools.coco import COCO

from ghostdet.evaluation import (BoxSet, dt_from_results, evaluate_small_objects, format_tables, gt_from_coco,
                                 resolve_area_ranges)

# sqrt(area) bin edges of the size plot (px); the last bin is open
SIZE_EDGES = (0, 4, 8, 16, 32, 64, 128, 256, 512)


def load_annotations(path: str) -> COCO:
    """Load a COCO annotation file, with a clear error when it is not one."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise SystemExit(f'{path}: cannot read a COCO annotation json ({e})') from None
    if not isinstance(data, dict) or not {'images', 'annotations', 'categories'} <= set(data):
        raise SystemExit(f'{path}: not a COCO annotation file (needs "images", "annotations" and "categories"); '
                         'did you swap ANN_JSON and RESULTS?')
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = data
        coco.createIndex()
    return coco


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def load_results(path: str, coco: COCO) -> BoxSet:
    """Read a results json or an mmdet ``--out`` pickle into a :class:`BoxSet`; check ids against ``coco``."""
    if path.endswith(('.pkl', '.pickle')):
        try:
            import torch  # noqa: F401  (the pickle holds tensors)
            with open(path, 'rb') as f:
                samples = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError) as e:
            raise SystemExit(f'{path}: cannot read the pickle ({e})') from None
        if not isinstance(samples, list) or any(
                not isinstance(s, dict) or 'img_id' not in s or 'pred_instances' not in s for s in samples):
            raise SystemExit(f'{path}: expected the list of dicts with "img_id" and "pred_instances" that mmdet\'s '
                             'tools/test.py --out writes')
        cat_ids = np.array([c['id'] for c in coco.dataset['categories']], dtype=np.int64)
        results = []
        for s in samples:
            pred = s['pred_instances']
            boxes = _to_numpy(pred['bboxes']).astype(np.float64).reshape(-1, 4)
            labels = _to_numpy(pred['labels']).astype(np.int64)
            if len(labels) and labels.max() >= len(cat_ids):
                raise SystemExit(f'{path}: label {labels.max()} but the annotation file has {len(cat_ids)} '
                                 'categories: the model was trained on other classes')
            for box, label, score in zip(boxes, labels, _to_numpy(pred['scores']).astype(np.float64)):
                results.append(dict(image_id=int(s['img_id']), category_id=int(cat_ids[label]),
                                    bbox=[box[0], box[1], box[2] - box[0], box[3] - box[1]], score=float(score)))
    else:
        try:
            with open(path) as f:
                results = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise SystemExit(f'{path}: cannot read a results json ({e})') from None
        if not isinstance(results, list):
            raise SystemExit(f'{path}: a COCO results file is a list of detections, got a {type(results).__name__}')
        for i, r in enumerate(results):
            if (not isinstance(r, dict) or not {'image_id', 'category_id', 'bbox', 'score'} <= set(r)
                    or len(r['bbox']) != 4):
                raise SystemExit(f'{path}: detection #{i} is not {{"image_id", "category_id", "bbox": [x, y, w, h], '
                                 f'"score"}}: {str(r)[:200]}')
    dets = dt_from_results(results)
    for what, ids, known in (('image', dets.image_ids, coco.getImgIds()),
                             ('category', dets.category_ids, coco.getCatIds())):
        unknown = np.setdiff1d(ids, np.asarray(known, dtype=np.int64))
        if len(unknown):
            raise SystemExit(f'{path}: {len(unknown)} {what} ids are not in the annotation file (e.g. '
                             f'{unknown[:5].tolist()}): the results belong to another dataset, split or class list')
    return dets


def size_bins(max_edge_px: Sequence[float] = SIZE_EDGES) -> Dict[str, tuple]:
    """Log-scale sqrt(area) bins as area ranges ``{'px4to8': (16, 64), ...}``."""
    edges = list(max_edge_px) + [1e5]
    return {(f'px{lo}to{hi}' if hi < 1e5 else f'px{lo}up'): (lo ** 2, hi ** 2) for lo, hi in zip(edges[:-1], edges[1:])}


def plot_size_curves(curves: Dict[str, dict], max_dets: int, path: str) -> None:
    """AP and recall@0.5 against object size (log x), one line per results file."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    bins = size_bins()
    centres = [np.sqrt(max(lo, 1.0) ** .5 * (hi ** .5 if hi < 1e10 else 2 * lo ** .5)) for lo, hi in bins.values()]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, stats in curves.items():
        for ax, key in zip(axes, ('AP', 'R50')):
            values = np.array([stats[f'{key}_{name}'] for name in bins], dtype=float)
            values[values < 0] = np.nan  # no ground truth of that size
            ax.plot(centres, values, marker='o', label=label)
    counts = next(iter(curves.values()))
    for ax, title in zip(axes, (f'AP@[.5:.95] (maxDets {max_dets})', f'recall at IoU 0.5 (maxDets {max_dets})')):
        ax.set_xscale('log', base=2)
        ax.set_xticks([e for e in SIZE_EDGES[1:]])
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_xlabel('object size sqrt(area) [px]')
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.grid(True, which='both', alpha=0.3)
        for x, name in zip(centres, bins):
            ax.annotate(str(counts[f'num_gt_{name}']), (x, 0.02), ha='center', fontsize=7, color='grey')
    axes[0].legend()
    fig.suptitle('AP and recall vs object size (grey: ground-truth count per bin)')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Small-object evaluation of COCO-format detection results.')
    parser.add_argument('ann_json', help='COCO annotation file')
    parser.add_argument('results', nargs='+', help='COCO results json or mmdet tools/test.py --out pickle')
    parser.add_argument('--labels', nargs='+', help='one name per RESULTS (default: file names)')
    parser.add_argument('--area-ranges', default='aitod',
                        help='preset (aitod, tinyperson, coco) or a json dict {"name": [min_area, max_area]} in px²')
    parser.add_argument('--max-dets', type=int, help='detections per image for the range numbers (default: preset)')
    parser.add_argument('--area-source', choices=('annotation', 'box'), default='annotation',
                        help='object area: the annotation "area" field (pycocotools) or the box w*h')
    parser.add_argument('--iou-thrs', type=float, nargs='+', help='IoU thresholds (default 0.50:0.05:0.95)')
    parser.add_argument('--classwise', action='store_true', help='per-class tables for every range')
    parser.add_argument('--out-dir', help='write summary.json, classwise.json and the size plot here')
    return parser.parse_args(argv)


def main(argv=None) -> Dict[str, dict]:
    args = parse_args(argv)
    area_ranges = args.area_ranges
    if area_ranges.lstrip().startswith('{'):
        try:
            area_ranges = json.loads(area_ranges)
        except json.JSONDecodeError as e:
            raise SystemExit(f'--area-ranges: not a json dict ({e})') from None
    try:
        ranges, max_dets = resolve_area_ranges(area_ranges, args.max_dets)
    except (TypeError, ValueError) as e:
        raise SystemExit(f'--area-ranges: {e}') from None
    labels = args.labels or [osp.splitext(osp.basename(p))[0] for p in args.results]
    if len(labels) != len(args.results) or len(set(labels)) != len(labels):
        raise SystemExit(f'--labels: need {len(args.results)} distinct names, got {labels}')

    coco = load_annotations(args.ann_json)
    gt = gt_from_coco(coco, args.area_source)
    img_ids, cat_ids = coco.getImgIds(), coco.getCatIds()
    names = [c['name'] for c in coco.loadCats(cat_ids)]
    summaries, classwise, curves = {}, {}, {}
    for label, path in zip(labels, args.results):
        dets = load_results(path, coco)
        report = evaluate_small_objects(gt, dets, img_ids, cat_ids, ranges, max_dets, args.iou_thrs, names)
        print(f'\n== {label} ({path}), object area from {args.area_source}')
        print(format_tables(report, classwise=args.classwise))
        summaries[label], classwise[label] = report.stats, report.classwise
        curves[label] = evaluate_small_objects(gt, dets, img_ids, cat_ids, size_bins(), max_dets, args.iou_thrs).stats

    if args.out_dir:
        os.makedirs(args.out_dir, exist_ok=True)
        single = len(labels) == 1
        with open(osp.join(args.out_dir, 'summary.json'), 'w') as f:
            json.dump(summaries[labels[0]] if single else summaries, f, indent=1)
        if args.classwise:
            with open(osp.join(args.out_dir, 'classwise.json'), 'w') as f:
                json.dump(classwise[labels[0]] if single else classwise, f, indent=1)
        plot_size_curves(curves, max_dets, osp.join(args.out_dir, 'ap_recall_vs_size.png'))
        print(f'\nwrote {args.out_dir}/summary.json and ap_recall_vs_size.png')
    return summaries


if __name__ == '__main__':
    main()
