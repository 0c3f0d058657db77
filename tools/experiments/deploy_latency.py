"""The deployment latency table: eager PyTorch against ONNX Runtime and OpenVINO (fp32, bf16, int8) for every
RTMDet-lite config (or the configs given), whole path, interleaved per config, resumable.

    python tools/experiments/deploy_latency.py [CONFIG ...] [--image IMG] [--calib-images DIR_OR_ANN]
        [--threads 2] [--repeats 20] [--out-dir work_dirs/deploy_latency]

Random weights (there are no trained COCO weights here) under mmdeploy's default candidate limits for mmdet (at most
1000 candidates per level, 100 detections) with a score threshold of 0, so that every config decodes and suppresses
the same, largest number of candidates (random weights put scores anywhere, and a real threshold would pass all of
them for one config and none for the next): the post-processing is timed at its upper bound. Run it on an idle
machine (each config's load average is recorded).
Writes OUT/latency.json (raw medians per stage) and OUT/latency.md (the README table).
"""
import argparse
from pathlib import Path

from ghostdet.deploy.benchmark import benchmark_table

REPO = Path(__file__).resolve().parents[2]
UPPER_BOUND_POST_PROCESSING = {'model.test_cfg.score_thr': 0.0, 'model.test_cfg.nms_pre': 1000,
                               'model.test_cfg.max_per_img': 100}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='*', help='default: configs/*/rtmdet-lite_*.py')
    parser.add_argument('--image', help='image to time (default: a generated 640x480 image)')
    parser.add_argument('--calib-images', help='int8 calibration images (default: --image)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--out-dir', default='work_dirs/deploy_latency')
    args = parser.parse_args()
    configs = args.configs or sorted(str(p.relative_to(REPO)) for p in REPO.glob('configs/*/rtmdet-lite_*.py'))
    print(benchmark_table(configs, args.out_dir, args.image, args.calib_images, args.threads, args.repeats,
                          cfg_options=UPPER_BOUND_POST_PROCESSING))


if __name__ == '__main__':
    main()
