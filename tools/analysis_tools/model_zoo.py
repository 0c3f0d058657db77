"""The README's model-zoo table: size, compute and CPU latency of every COCO config, with mmdet's MobileNetV2
configs as the baseline rows, measured the same way.

    python tools/analysis_tools/model_zoo.py [--filter SUBSTRING ...] [--repeats 5] [--warmup 2] [--threads N]
        [--no-latency]

Parameters and GFLOPs (multiply-adds) are counted on the inference form (GhostNetV3 re-parameterised, BatchNorm
folded) at the config's test input size (the test Resize scale; keep-ratio resizes at their largest image, e.g.
800x1333 for the 1x FPN configs). Latency: ``tools/analysis_tools/benchmark.py --fuse-conv-bn --mode tensor``
(network only, batch 1, random weights), median and 90th percentile in ms. COCO box mAP is a published figure where
one exists for the same detector and backbone (source in the footnotes), not a result of ghostdet.
"""
import argparse
import platform
from pathlib import Path

import mmdet
import torch

import ghostdet  # noqa: F401
from ghostdet.analysis import (build_detector, complexity_by_part, config_input_shape, latency_summary, load_config,
                               measure_latency)

REPO = Path(__file__).resolve().parents[2]
MMDET_CONFIGS = Path(mmdet.__file__).parent / '.mim' / 'configs'

DETECTORS = [  # (ghostdet config name pattern, mmdet MobileNetV2 baseline or None)
    ('retinanet_{}_fpn_1x_coco.py', None),
    ('faster-rcnn_{}_fpn_1x_coco.py', None),
    ('yolov3_{}_8xb24-320-300e_coco.py', 'yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'),
    ('yolov3_{}_8xb24-ms-416-300e_coco.py', 'yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py'),
    ('ssdlite_{}_8xb24-600e_coco.py', 'ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'),
    ('rtmdet-lite_{}_8xb32-320-300e_coco.py', None),
    ('rtmdet-lite_{}_8xb32-416-300e_coco.py', None),
]
BACKBONES = [('ghostnet', 'ghostnet-1.0x'), ('ghostnet', 'ghostnet-1.1x'), ('ghostnetv2', 'ghostnetv2-1.0x'),
             ('ghostnetv3', 'ghostnetv3-1.0x'), ('shufflenetv1', 'shufflenetv1-g3-1.0x'),
             ('shufflenetv2', 'shufflenetv2-1.0x')]
EXTRA = ['ghostnet/retinanet_ghostnet-1.0x_fpn-p2_1x_coco.py']  # small-object variant
PUBLISHED = {  # config -> (COCO box mAP, footnote)
    'ghostnet/retinanet_ghostnet-1.1x_fpn_1x_coco.py': (26.6, 1),
    'ghostnet/faster-rcnn_ghostnet-1.1x_fpn_1x_coco.py': (26.9, 1),
    'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py': (22.2, 2),
    'mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py': (23.9, 2),
    'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py': (21.3, 2),
}
FOOTNOTES = {1: 'GhostNet paper (CVPR 2020), Table 8: mmdetection with the backbone swapped, 12 epochs, COCO minival.',
             2: 'mmdet 3.3.0 model zoo (configs/yolo, configs/ssd metafiles), COCO val2017.'}


def zoo_configs():
    """(name as printed, path) of every row, baseline first within each detector."""
    rows = []
    for pattern, baseline in DETECTORS:
        if baseline:
            rows.append((f'mmdet::{baseline}', MMDET_CONFIGS / baseline))
        for folder, backbone in BACKBONES:
            name = f'{folder}/{pattern.format(backbone)}'
            if (REPO / 'configs' / name).exists():
                rows.append((name, REPO / 'configs' / name))
    rows += [(name, REPO / 'configs' / name) for name in EXTRA]
    return rows


def measure(path: Path, repeats: int, warmup: int, latency: bool) -> dict:
    cfg = load_config(str(path))
    shape = config_input_shape(cfg)
    model = build_detector(cfg, deploy=True)
    parts = complexity_by_part(model, shape)
    row = dict(shape=shape, backbone_params=parts['backbone']['params'], params=parts['total']['params'],
               flops=parts['total']['flops'])
    if latency:
        row.update(latency_summary(measure_latency(model, shape, repeats, warmup)))
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--filter', nargs='+', help='only configs whose name contains one of these')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s default)')
    parser.add_argument('--no-latency', action='store_true')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    rows = [(name, path) for name, path in zoo_configs() if not args.filter or any(f in name for f in args.filter)]
    cpu = next((line.split(':', 1)[1].strip() for line in open('/proc/cpuinfo') if line.startswith('model name')),
               platform.processor()) if Path('/proc/cpuinfo').exists() else platform.processor()
    if not args.no_latency:
        print(f'CPU latency: {cpu}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, '
              f'{args.repeats} runs after {args.warmup} warm-up, batch 1, inference form, network only.\n')
    latency_head = '' if args.no_latency else ' CPU ms, median (p90) |'
    print(f'| config | input | backbone params (M) | params (M) | GFLOPs |{latency_head} COCO mAP (published) |')
    print('|---|---|---|---|---|' + ('' if args.no_latency else '---|') + '---|')
    used_notes = set()
    for name, path in rows:
        row = measure(path, args.repeats, args.warmup, not args.no_latency)
        published = PUBLISHED.get(name)
        if published:
            used_notes.add(published[1])
        mAP = f'{published[0]} [{published[1]}]' if published else '–'
        latency = '' if args.no_latency else f' {row["median_ms"]:.0f} ({row["p90_ms"]:.0f}) |'
        print(f'| {name} | {row["shape"][0]}x{row["shape"][1]} | {row["backbone_params"] / 1e6:.2f} | '
              f'{row["params"] / 1e6:.2f} | {row["flops"] / 1e9:.2f} |{latency} {mAP} |', flush=True)
    for note in sorted(used_notes):
        print(f'\n[{note}] {FOOTNOTES[note]}')


if __name__ == '__main__':
    main()
