"""The README's model-zoo table: size, compute and CPU latency of every COCO config, with mmdet's MobileNetV2
configs as the baseline rows, measured the same way.

Parameters and GFLOPs (multiply-adds) are counted on the inference form (GhostNetV3 re-parameterised, BatchNorm
folded) at the config's test input size (the test Resize scale; keep-ratio resizes at their largest image, e.g.
800x1333 for the 1x FPN configs). Latency is :func:`~ghostdet.analysis.measure_latency` in ``'tensor'`` mode
(network only, batch 1, random weights), median and 90th percentile in ms. COCO box mAP is a published figure where
one exists for the same detector and backbone (source in the footnotes), not a result of ghostdet.
"""
import time
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import mmdet
import torch

from .complexity import complexity_by_part
from .detector import build_detector, config_input_shape, load_config
from .latency import describe_cpu, latency_summary, measure_latency, print_progress

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


def zoo_configs(config_root: Path) -> List[Tuple[str, Path]]:
    """(name as printed, path) of every row, baseline first within each detector; ghostdet configs under
    ``config_root`` (the repository's ``configs/``)."""
    rows = []
    for pattern, baseline in DETECTORS:
        if baseline:
            rows.append((f'mmdet::{baseline}', MMDET_CONFIGS / baseline))
        for folder, backbone in BACKBONES:
            name = f'{folder}/{pattern.format(backbone)}'
            if (config_root / name).exists():
                rows.append((name, config_root / name))
    return rows + [(name, config_root / name) for name in EXTRA]


def measure_config(path: Path, repeats: int, warmup: int, latency: bool) -> dict:
    """Input shape, backbone and total parameters, total FLOPs and (if ``latency``) the latency summary."""
    cfg = load_config(str(path))
    shape = config_input_shape(cfg)
    model = build_detector(cfg, deploy=True)
    parts = complexity_by_part(model, shape)
    row = dict(shape=shape, backbone_params=parts['backbone']['params'], params=parts['total']['params'],
               flops=parts['total']['flops'])
    if latency:
        row.update(latency_summary(measure_latency(model, shape, repeats, warmup)))
    return row


def model_zoo_table(config_root: Path, filters: Optional[Sequence[str]] = None, repeats: int = 5, warmup: int = 2,
                    latency: bool = True, threads: Optional[int] = None) -> Iterator[str]:
    """The table's lines, each row as soon as it is measured (progress with ETA on stderr), then the footnotes.

    Args:
        config_root (Path): The repository's ``configs/``.
        filters (list[str], optional): Only configs whose printed name contains one of these.
        repeats (int): Timed runs per config. warmup (int): Untimed runs first.
        latency (bool): Measure latency (else parameters and FLOPs only).
        threads (int, optional): Set torch's CPU threads for the process first.
    """
    if threads:
        torch.set_num_threads(threads)
    rows = [(name, path) for name, path in zoo_configs(config_root) if not filters or any(f in name for f in filters)]
    if not rows:
        raise ValueError(f'no config name contains any of {list(filters)}')
    if latency:
        yield (f'CPU latency: {describe_cpu()}, {repeats} runs after {warmup} warm-up, batch 1, inference form, '
               f'network only.\n')
    yield ('| config | input | backbone params (M) | params (M) | GFLOPs |' +
           (' CPU ms, median (p90) |' if latency else '') + ' COCO mAP (published) |')
    yield '|---|---|---|---|---|' + ('---|' if latency else '') + '---|'
    used_notes, start = set(), time.perf_counter()
    for done, (name, path) in enumerate(rows, 1):
        row = measure_config(path, repeats, warmup, latency)
        published = PUBLISHED.get(name)
        if published:
            used_notes.add(published[1])
        mAP = f'{published[0]} [{published[1]}]' if published else '–'
        timing = f' {row["median_ms"]:.0f} ({row["p90_ms"]:.0f}) |' if latency else ''
        yield (f'| {name} | {row["shape"][0]}x{row["shape"][1]} | {row["backbone_params"] / 1e6:.2f} | '
               f'{row["params"] / 1e6:.2f} | {row["flops"] / 1e9:.2f} |{timing} {mAP} |')
        print_progress(done, len(rows), start, name)
    for note in sorted(used_notes):
        yield f'\n[{note}] {FOOTNOTES[note]}'
