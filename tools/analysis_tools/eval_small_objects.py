"""Small-object evaluation of detection results, offline (hotcoco backend; imports neither torch nor mmdet for json).

    python tools/analysis_tools/eval_small_objects.py ANN_JSON RESULTS [RESULTS ...] [--out-dir DIR]
        [--labels NAME ...] [--area-ranges aitod|tinyperson|coco|'{"tiny": [0, 256], ...}'] [--max-dets 1 10 100]
        [--range-max-dets N] [--area-source annotation|box] [--iou-thrs 0.5 0.75 ...] [--classwise]
        [--error-analysis [--tide-thrs 0.5 0.1] [--confusion-score-thr 0.3]] [--drop-invalid]

RESULTS is a COCO results json (``[{"image_id", "category_id", "bbox": [x, y, w, h], "score"}, ...]``, e.g. from
``CocoMetric(format_only=True, outfile_prefix=...)``) or the pickle written by mmdet's ``tools/test.py --out`` (read
without executing code from it; its labels index the annotation file's categories in file order, as mmdet's
``CocoDataset`` numbers them). See ``ghostdet.evaluation.offline`` for what is printed and written.
"""
import argparse
import json
import os

# result files need neither models nor mmdet's registries: import ghostdet without registering (no torch, no mmdet)
os.environ.setdefault('GHOSTDET_NO_REGISTRATION', '1')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Small-object evaluation of COCO-format detection results.')
    parser.add_argument('ann_json', help='COCO annotation file')
    parser.add_argument('results', nargs='+', help='COCO results json or mmdet tools/test.py --out pickle')
    parser.add_argument('--labels', nargs='+', help='one name per RESULTS (default: file names)')
    parser.add_argument('--area-ranges', default='aitod',
                        help='preset (aitod, tinyperson, coco) or a json dict {"name": [min_area, max_area]} in px²')
    parser.add_argument('--max-dets', type=int, nargs=3, default=(1, 10, 100), metavar=('M0', 'M1', 'M2'),
                        help="the summary's detection limits as pycocotools' maxDets (default 1 10 100, COCO's; "
                        "100 300 1000 reproduces mmdet's CocoMetric)")
    parser.add_argument('--range-max-dets', type=int, help='detections per image for the range numbers '
                        '(default: the preset\'s, 1500 for aitod)')
    parser.add_argument('--area-source', choices=('annotation', 'box'), default='annotation',
                        help='object area: the annotation "area" field (pycocotools) or the box w*h')
    parser.add_argument('--iou-thrs', type=float, nargs='+', help='IoU thresholds (default 0.50:0.05:0.95)')
    parser.add_argument('--classwise', action='store_true', help='per-class tables for every range')
    parser.add_argument('--error-analysis', action='store_true',
                        help='TIDE errors (Cls, Loc, Both, Dupe, Bkg, Miss) per size range and a confusion matrix')
    parser.add_argument('--tide-thrs', type=float, nargs=2, default=(0.5, 0.1), metavar=('POS', 'BG'),
                        help="TIDE's foreground and background IoU thresholds")
    parser.add_argument('--confusion-score-thr', type=float, default=0.3,
                        help='detections below this score are left out of the confusion matrix')
    parser.add_argument('--drop-invalid', action='store_true', help='drop and count invalid detections (NaN/inf, '
                        'non-positive sizes, unknown ids) instead of stopping at the first')
    parser.add_argument('--out-dir', help='write summary.json, classwise.json and the plots here')
    args = parser.parse_args(argv)
    if args.area_ranges.lstrip().startswith('{'):
        try:
            args.area_ranges = json.loads(args.area_ranges)
        except json.JSONDecodeError as e:
            parser.error(f'--area-ranges: not a json dict ({e})')
    return args


def main(argv=None):
    args = parse_args(argv)
    from ghostdet.evaluation.offline import evaluate_result_files
    try:
        return evaluate_result_files(
            args.ann_json, args.results, labels=args.labels, area_ranges=args.area_ranges, max_dets=args.max_dets,
            range_max_dets=args.range_max_dets, area_source=args.area_source, iou_thrs=args.iou_thrs,
            classwise=args.classwise, error_analysis=args.error_analysis, tide_thrs=args.tide_thrs,
            confusion_score_thr=args.confusion_score_thr, drop_invalid=args.drop_invalid, out_dir=args.out_dir)
    except (ValueError, TypeError) as e:
        raise SystemExit(f'error: {e}') from None


if __name__ == '__main__':
    main()
