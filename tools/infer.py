"""Detect objects in images of any size, optionally by slicing (SAHI's semantics), and write CSV / COCO JSON / drawings.

    python tools/infer.py INPUTS... (--config CONFIG --checkpoint CKPT
                                     | --model EXPORT_DIR --backend onnxruntime|openvino|ncnn) --out-dir OUT
        [--score-thr 0.3] [--device cpu|cuda] [--batch-size N] [--slice H W | --slice N] [--overlap 0.2]
        [--full-image-pass] [--merge nms|nmm|greedy_nmm] [--match-metric iou|ios] [--match-thr 0.5]
        [--class-agnostic] [--skip-existing] [--force] [--no-draw]

INPUTS are image files, folders (searched recursively for PNG / JPEG / TIFF) and glob patterns (quote them).
Images that cannot be read are reported and skipped; the run then exits with status 1 and lists them.
"""
import argparse
import sys

from ghostdet.inference import EXPORTED_BACKENDS
from ghostdet.inference.merging import MATCH_METRICS, MERGE_METHODS
from ghostdet.inference.predictor import SliceOptions
from ghostdet.inference.run import run_inference


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('inputs', nargs='+', metavar='INPUTS', help='image files, folders or glob patterns')
    parser.add_argument('--config', help='mmdet config of the model (with --checkpoint)')
    parser.add_argument('--checkpoint', help='checkpoint of the model (with --config)')
    parser.add_argument('--model', metavar='EXPORT_DIR', help='exported model folder (with --backend)')
    parser.add_argument('--backend', choices=EXPORTED_BACKENDS, help='runtime of an exported model')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--score-thr', type=float, default=0.3, help='drop detections below this score')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--batch-size', type=int, default=8, help='slices per forward')
    parser.add_argument('--slice', type=int, nargs='+', metavar='N', help='slice size: H W, or one N for N x N')
    parser.add_argument('--overlap', type=float, default=0.2, help='overlap of neighbouring slices, in [0, 1)')
    parser.add_argument('--full-image-pass', action='store_true',
                        help='also predict the whole image once and merge it in (large objects)')
    parser.add_argument('--merge', default='nms', choices=sorted(MERGE_METHODS), help='how slice predictions merge')
    parser.add_argument('--match-metric', default='iou', choices=MATCH_METRICS, help='overlap measure for merging')
    parser.add_argument('--match-thr', type=float, default=0.5, help='overlap at which predictions merge')
    parser.add_argument('--class-agnostic', action='store_true', help='merge predictions of different classes')
    parser.add_argument('--skip-existing', action='store_true', help='continue a run: skip finished images')
    parser.add_argument('--force', action='store_true', help='replace the results already in --out-dir')
    parser.add_argument('--no-draw', action='store_true', help='do not write drawn images')
    args = parser.parse_args(argv)
    if (args.config is None) != (args.checkpoint is None) or (args.model is None) != (args.backend is None) \
            or (args.config is None) == (args.model is None):
        parser.error('give either --config CONFIG --checkpoint CKPT or --model EXPORT_DIR --backend BACKEND')
    if args.slice is not None and len(args.slice) not in (1, 2):
        parser.error(f'--slice takes H W or one N, got {len(args.slice)} numbers')
    try:
        options = SliceOptions(
            slice_size=None if args.slice is None else (args.slice * 2)[:2],
            overlap=args.overlap, full_image_pass=args.full_image_pass, merge=args.merge,
            match_metric=args.match_metric, match_thr=args.match_thr, class_agnostic=args.class_agnostic,
            score_thr=args.score_thr, batch_size=args.batch_size)
    except ValueError as error:
        parser.error(str(error))
    return args, options


def main(argv=None):
    args, options = parse_args(argv)
    try:
        failures = run_inference(
            args.inputs, args.out_dir, options, backend=args.backend or 'pytorch', config=args.config,
            checkpoint=args.checkpoint, model_dir=args.model, device=args.device, skip_existing=args.skip_existing,
            force=args.force, draw=not args.no_draw)
    except (FileNotFoundError, FileExistsError, PermissionError, ValueError) as error:  # checked before any work
        sys.exit(f'error: {error}')
    if failures:
        sys.exit(f'{len(failures)} image(s) could not be read (listed in {args.out_dir}/failures.txt):\n  '
                 + '\n  '.join(failures))


if __name__ == '__main__':
    main()
