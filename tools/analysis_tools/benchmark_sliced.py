"""Time ghostdet's sliced inference against SAHI 0.12.8's get_sliced_prediction on the same image, model, slices and
merge, interleaved in one process, and check that both find the same detections.

    python tools/analysis_tools/benchmark_sliced.py [CONFIG CHECKPOINT] [--image PATH] [--slice 256] [--overlap 0.2]
        [--merge nms] [--match-metric iou] [--match-thr 0.5] [--score-thr 0.3] [--full-image-pass]
        [--batch-size 8] [--repeats 3] [--threads 2]

Defaults: the tree main job (``make demo``: its config and ``work_dirs/trees_demo/last_checkpoint``) on the largest
NEON image in the deepforest package (2299 x 2472 px). SAHI runs the model through its mmdet wrapper
(``MmdetDetectionModel``: mmdet's ``DetInferencer``, one slice per forward, its default). ghostdet runs the same checkpoint as it is
(``deploy=False``; its detections must equal SAHI's, asserted) and in its inference form (the CLI's default;
BatchNorm folded: the same function in another float order, so it reports how many detections have a twin in
SAHI's), slices in batches. Both get the image already decoded. Reported: median
seconds per image over ``--repeats`` interleaved rounds after one warm-up round, the ratio to SAHI, and where the
time goes (SAHI's own ``durations_in_seconds``; ghostdet's time inside the detector vs merging).
"""
import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from ghostdet.datasets.trees import MAIN_JOB_CONFIG, MAIN_JOB_WORK_DIR, deepforest_data_dir
from ghostdet.inference import PytorchDetector, SlicedPredictor, SliceOptions

REPO = Path(__file__).resolve().parents[2]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', nargs='?', default=str(REPO / MAIN_JOB_CONFIG), help=f'default: {MAIN_JOB_CONFIG}')
    parser.add_argument('checkpoint', nargs='?', help=f'default: {MAIN_JOB_WORK_DIR}/last_checkpoint (make demo)')
    parser.add_argument('--image', help='default: deepforest 2019_YELL_2_528000_4978000_image_crop2.png')
    parser.add_argument('--slice', type=int, default=256)
    parser.add_argument('--overlap', type=float, default=0.2)
    parser.add_argument('--merge', default='nms', choices=['nms', 'nmm', 'greedy_nmm'])
    parser.add_argument('--match-metric', default='iou', choices=['iou', 'ios'])
    parser.add_argument('--match-thr', type=float, default=0.5)
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--full-image-pass', action='store_true')
    parser.add_argument('--batch-size', type=int, default=8, help='ghostdet slices per forward')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    return parser.parse_args()


class TimedDetector:
    """A Detector that adds up the seconds spent inside ``predict`` (pipeline, forward, post-processing)."""

    def __init__(self, detector):
        self.detector, self.class_names, self.seconds = detector, detector.class_names, 0.0

    def predict(self, images):
        start = time.perf_counter()
        out = self.detector.predict(images)
        self.seconds += time.perf_counter() - start
        return out


def sahi_model(config: str, checkpoint: str, score_thr: float):
    from sahi.models.mmdet import MmdetDetectionModel
    return MmdetDetectionModel(model_path=checkpoint, config_path=config, confidence_threshold=score_thr,
                               device='cpu')


def run_sahi(model, image_rgb, args):
    from sahi.predict import get_sliced_prediction
    result = get_sliced_prediction(
        image_rgb, model, slice_height=args.slice, slice_width=args.slice, overlap_height_ratio=args.overlap,
        overlap_width_ratio=args.overlap, perform_standard_pred=args.full_image_pass,
        postprocess_type=args.merge.upper().replace('_', ''), postprocess_match_metric=args.match_metric.upper(),
        postprocess_match_threshold=args.match_thr, postprocess_class_agnostic=False, verbose=0)
    rows = np.array([[*p.bbox.to_xyxy(), p.score.value, p.category.id] for p in result.object_prediction_list])
    return rows.reshape(-1, 6), result.durations_in_seconds


def rows_of(dets):
    return np.c_[dets.bboxes, dets.scores, dets.labels]


def sorted_rows(rows):
    return rows[np.lexsort(rows.T[::-1])]


def compare(name, rows, reference):
    """Assert that two detection sets are equal (same boxes, scores and labels; any order)."""
    a, b = sorted_rows(rows), sorted_rows(reference)
    assert a.shape == b.shape, f'{name}: {len(a)} detections, SAHI {len(b)}'
    box_err = np.abs(a[:, :4] - b[:, :4]).max(initial=0)
    score_err = np.abs(a[:, 4] - b[:, 4]).max(initial=0)
    assert box_err <= 1e-3 and score_err <= 1e-6 and (a[:, 5] == b[:, 5]).all(), \
        f'{name}: max box difference {box_err:.2e} px, score {score_err:.2e}'
    return f'{name}: {len(a)} detections, equal to SAHI\'s (max |box| diff {box_err:.1e} px, score {score_err:.1e})'


def agreement(name, rows, reference):
    """How many detections of ``rows`` have a twin in ``reference`` (same label, IoU > 0.99, scores within 1e-3):
    the inference form computes the same function in another float order, so boxes near the score threshold or
    near-tied in NMS may come and go."""
    x1 = np.maximum(rows[:, None, 0], reference[None, :, 0])
    y1 = np.maximum(rows[:, None, 1], reference[None, :, 1])
    inter = (np.minimum(rows[:, None, 2], reference[None, :, 2]) - x1).clip(0) * \
        (np.minimum(rows[:, None, 3], reference[None, :, 3]) - y1).clip(0)
    area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])  # noqa: E731
    iou = inter / (area(rows)[:, None] + area(reference)[None] - inter)
    twin = (iou > 0.99) & (np.abs(rows[:, None, 4] - reference[None, :, 4]) <= 1e-3) & \
        (rows[:, None, 5] == reference[None, :, 5])
    return (f'{name}: {twin.any(1).sum()} of {len(rows)} detections have a twin among SAHI\'s {len(reference)} '
            f'(same label, IoU > 0.99, score within 1e-3)')


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    checkpoint = args.checkpoint or (REPO / MAIN_JOB_WORK_DIR / 'last_checkpoint').read_text().strip()
    image_path = args.image or str(deepforest_data_dir() / '2019_YELL_2_528000_4978000_image_crop2.png')
    image = cv2.imread(image_path)
    image_rgb = np.ascontiguousarray(image[..., ::-1])  # SAHI's numpy convention
    options = SliceOptions(slice_size=args.slice, overlap=args.overlap, full_image_pass=args.full_image_pass,
                           merge=args.merge, match_metric=args.match_metric, match_thr=args.match_thr,
                           score_thr=args.score_thr, batch_size=args.batch_size)
    runs = {
        'SAHI (MmdetDetectionModel)': sahi_model(args.config, checkpoint, args.score_thr),
        'ghostdet, checkpoint as is': TimedDetector(PytorchDetector(args.config, checkpoint, deploy=False)),
        'ghostdet, inference form': TimedDetector(PytorchDetector(args.config, checkpoint)),
    }
    num_windows = len(SlicedPredictor(runs['ghostdet, inference form'], options).windows(*image.shape[:2]))
    print(f'{image_path}: {image.shape[1]} x {image.shape[0]} px, {num_windows} slices of {args.slice} px, '
          f'merge {args.merge}/{args.match_metric} {args.match_thr}, score >= {args.score_thr}, '
          f'{torch.get_num_threads()} threads')

    times = {name: [] for name in runs}
    parts = {name: [] for name in runs}
    outputs = {}
    for round_ in range(args.repeats + 1):  # round 0 warms up
        for name, model in runs.items():
            start = time.perf_counter()
            if name.startswith('SAHI'):
                outputs[name], durations = run_sahi(model, image_rgb, args)
                split = (durations['prediction'], durations['postprocess'])
            else:
                model.seconds = 0.0
                outputs[name] = rows_of(SlicedPredictor(model, options).predict(image))
                split = (model.seconds, time.perf_counter() - start - model.seconds)
            if round_:
                times[name].append(time.perf_counter() - start)
                parts[name].append(split)

    reference = outputs['SAHI (MmdetDetectionModel)']
    names = list(runs)
    print(compare(names[1], outputs[names[1]], reference))
    print(agreement(names[2], outputs[names[2]], reference))
    sahi_median = float(np.median(times[names[0]]))
    print(f'\n| run | s / image | slices / s | vs SAHI | model (s) | rest (s) |\n|---|---|---|---|---|---|')
    for name in names:
        median = float(np.median(times[name]))
        model_s, rest_s = np.median(np.array(parts[name]), axis=0)
        print(f'| {name} | {median:.2f} | {num_windows / median:.1f} | {sahi_median / median:.2f}x | '
              f'{model_s:.2f} | {rest_s:.2f} |')
    print('\nmodel: SAHI\'s "prediction" duration / time inside the ghostdet detector (pipeline, forward, mmdet '
          'post-processing); rest: SAHI\'s "postprocess" (merging) / ghostdet\'s slicing, shifting and merging')


if __name__ == '__main__':
    main()
