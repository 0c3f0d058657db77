"""Inference latency of a detector config on CPU or CUDA, without a dataset (a generated image).

    python tools/analysis_tools/benchmark.py CONFIG [CHECKPOINT] [--shape H W] [--repeats 20] [--warmup 3]
        [--device cpu|cuda] [--fuse-conv-bn] [--mode tensor|predict] [--threads N] [--cfg-options k=v ...]

Prints the median and 90th-percentile milliseconds per image (batch 1) and the FPS at the median. mmdet's own
``benchmark.py --task inference`` needs CUDA and a dataset. ``--fuse-conv-bn`` times the inference form: ghostdet
backbones ``switch_to_deploy()`` (GhostNetV3 branches re-parameterised, BatchNorm folded, channels-last) and the
neck / head BatchNorms folded into their convs. ``--mode tensor`` (default) times the network (for two-stage
detectors including RPN proposals and the RoI head); ``--mode predict`` adds box decoding and NMS, which only
means something with trained weights (random weights give arbitrary box counts). The default shape is the config's
test Resize scale (for keep-ratio resizes, the largest image it gives), padded as the data preprocessor pads it.

Whole path, PyTorch against exported runtimes (interleaved in one run, CPU):

    python tools/analysis_tools/benchmark.py CONFIG [CHECKPOINT] --backend pytorch onnxruntime openvino [ncnn]
        [--precision fp32 bf16 int8] [--image IMG] [--calib-images DIR_OR_ANN] [--threads 2] [--shape H W]

times image -> detections in image pixels: pre-processing (test pipeline, normalisation), network, decoding + NMS,
post-processing, for eager PyTorch (inference form) and every backend/precision (ncnn: fp32 only; bf16: OpenVINO
only; int8 calibrated on --calib-images, default the timed image), with the same thread count for torch and the
runtimes (default 2). Random weights score every prior about equally (so post-processing load is arbitrary): pass a
checkpoint, or a realistic score threshold (e.g. --cfg-options model.test_cfg.score_thr=0.05, mmdeploy's default).
"""
import argparse

import torch
from mmengine.config import DictAction

import ghostdet  # noqa: F401
from ghostdet.analysis import build_detector, config_input_shape, latency_summary, load_config, measure_latency

BACKENDS = ('pytorch', 'onnxruntime', 'openvino', 'ncnn')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='trained detector weights (default: random weights)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), help='input size (default: the config\'s)')
    parser.add_argument('--repeats', type=int, default=20, help='timed runs')
    parser.add_argument('--warmup', type=int, default=3, help='untimed runs first')
    parser.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    parser.add_argument('--fuse-conv-bn', action='store_true', help='time the inference (deploy) form')
    parser.add_argument('--mode', default='tensor', choices=('tensor', 'predict'))
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s default)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    parser.add_argument('--backend', nargs='+', choices=BACKENDS,
                        help='time the whole path on these backends against eager PyTorch, interleaved')
    parser.add_argument('--precision', nargs='+', default=['fp32'], choices=('fp32', 'bf16', 'int8'),
                        help='precisions of the exported backends (bf16: OpenVINO only)')
    parser.add_argument('--image', help='image to time with --backend (default: a generated 640x480 image)')
    parser.add_argument('--calib-images', help='int8 calibration images (folder or COCO json; default: --image)')
    args = parser.parse_args()
    if args.repeats < 1 or args.warmup < 0:
        parser.error('--repeats must be >= 1 and --warmup >= 0')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: torch sees no CUDA device')
    if args.backend:
        if args.device != 'cpu':
            parser.error('--backend compares CPU runtimes: use --device cpu')
        from ghostdet.deploy.benchmark import benchmark_backends, format_table
        result = benchmark_backends(args.config, args.checkpoint, args.backend, args.precision, args.shape,
                                    args.image, args.calib_images, args.repeats, args.warmup, args.threads or 2,
                                    args.cfg_options)
        print(format_table(result))
        return
    if args.threads:
        torch.set_num_threads(args.threads)

    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    shape = tuple(args.shape) if args.shape else config_input_shape(cfg)
    model = build_detector(cfg, args.checkpoint, deploy=args.fuse_conv_bn, device=args.device)
    times = measure_latency(model, shape, args.repeats, args.warmup, args.mode, args.device)
    stats = latency_summary(times)
    where = f'cuda ({torch.cuda.get_device_name()})' if args.device == 'cuda' else \
        f'cpu, {torch.get_num_threads()} threads'
    form = 'inference form' if args.fuse_conv_bn else 'as built'
    print(f'{args.config}\ninput 1x3x{shape[0]}x{shape[1]}, {where}, {form}, mode={args.mode}, '
          f'{args.repeats} runs after {args.warmup} warm-up')
    print(f'median {stats["median_ms"]:.1f} ms/img, p90 {stats["p90_ms"]:.1f} ms/img, {stats["fps"]:.1f} FPS')


if __name__ == '__main__':
    main()
