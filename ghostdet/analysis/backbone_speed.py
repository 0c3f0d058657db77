"""CPU latency of ghostdet backbones in inference form against the same architecture in timm / torchvision /
mmpretrain (needs the ``tests`` extra).

ghostdet: ``switch_to_deploy()`` (BN folded, GhostNetV3 branches fused), eval, ``forward``. timm:
``forward_features`` in eval mode (GhostNetV3 after timm's own ``convert_to_deploy()``); torchvision ShuffleNetV2:
its modules up to ``conv5`` in eval mode; mmpretrain ShuffleNetV1: its backbone in eval mode. timm rows load timm's
random weights into ghostdet's model; both get the same input. Timings are interleaved
(:func:`~ghostdet.analysis.interleaved_median_ms`).
"""
import time
from typing import Callable, Iterator, Optional, Sequence, Tuple, Union

import timm
import torch
import torch.nn as nn
import torchvision
from mmdet.registry import MODELS
from mmpretrain.models.backbones import ShuffleNetV1 as MMPretrainShuffleNetV1

from .latency import describe_cpu, interleaved_median_ms, print_progress


def torchvision_shufflenet_v2(width: str) -> Callable:
    """torchvision's ``shufflenet_v2_x{width}`` features up to ``conv5`` (no pooling / fc), eval mode."""
    model = getattr(torchvision.models, f'shufflenet_v2_x{width}')().eval()
    return lambda x: model.conv5(model.stage4(model.stage3(model.stage2(model.maxpool(model.conv1(x))))))


def mmpretrain_shufflenet_v1(groups: int) -> nn.Module:
    """mmpretrain's ShuffleNetV1 backbone up to stage4, eval mode (its ``train()`` returns None: no chaining)."""
    model = MMPretrainShuffleNetV1(groups=groups, out_indices=(2, ))
    model.eval()
    return model


ROWS = [  # name, ghostdet backbone config, timm model name or a builder of the reference forward
    ('GhostNet 1.0x', dict(type='GhostNet', widen_factor=1.0, out_indices=(9, )), 'ghostnet_100'),
    ('GhostNetV2 1.0x', dict(type='GhostNetV2', widen_factor=1.0, out_indices=(9, )), 'ghostnetv2_100'),
    ('GhostNetV3 1.0x', dict(type='GhostNetV3', widen_factor=1.0, out_indices=(9, )), 'ghostnetv3_100'),
    ('ShuffleNetV2 0.5x', dict(type='ShuffleNetV2', widen_factor=0.5, out_indices=(4, )),
     lambda: torchvision_shufflenet_v2('0_5')),
    ('ShuffleNetV2 1.0x', dict(type='ShuffleNetV2', widen_factor=1.0, out_indices=(4, )),
     lambda: torchvision_shufflenet_v2('1_0')),
    ('ShuffleNetV2 1.5x', dict(type='ShuffleNetV2', widen_factor=1.5, out_indices=(4, )),
     lambda: torchvision_shufflenet_v2('1_5')),
    ('ShuffleNetV2 2.0x', dict(type='ShuffleNetV2', widen_factor=2.0, out_indices=(4, )),
     lambda: torchvision_shufflenet_v2('2_0')),
    ('ShuffleNetV1 1.0x g3', dict(type='ShuffleNetV1', groups=3, out_indices=(3, )),
     lambda: mmpretrain_shufflenet_v1(groups=3)),
]


def build_pair(config: dict, reference_spec: Union[str, Callable]) -> Tuple[nn.Module, Callable]:
    """ghostdet's backbone in inference form and the reference's forward."""
    ours = MODELS.build(config).eval()
    if callable(reference_spec):
        return ours.switch_to_deploy(), reference_spec()
    reference = timm.create_model(reference_spec).eval()
    # timm's weights in both, so the same numbers flow through both (and the architectures provably match)
    ours.load_state_dict(ours.convert_state_dict(reference.state_dict()))
    if hasattr(reference, 'convert_to_deploy'):
        reference.convert_to_deploy()
    return ours.switch_to_deploy(), reference.forward_features


def backbone_speed_table(shape: Sequence[int] = (640, 640), repeats: int = 20, warmup: int = 3,
                         only: Optional[str] = None, threads: Optional[int] = None) -> Iterator[str]:
    """The table's lines (median ms of each and the ratio ghostdet / reference), each row as soon as it is measured.

    Args:
        shape (tuple): Input (H, W); batch 1.
        repeats (int): Interleaved timed rounds. warmup (int): Untimed rounds first.
        only (str, optional): Only the rows whose name contains this text, e.g. ``'ShuffleNetV2'``.
        threads (int, optional): Set torch's CPU threads for the process first.
    """
    if threads:
        torch.set_num_threads(threads)
    rows = [row for row in ROWS if not only or only in row[0]]
    if not rows:
        raise ValueError(f'no row name contains {only!r}; names: {[row[0] for row in ROWS]}')
    x = torch.randn(1, 3, *shape)
    yield f'input 1x3x{shape[0]}x{shape[1]}, {describe_cpu()}, {repeats} interleaved rounds, median ms'
    yield '| backbone | ghostdet (deploy) ms | reference ms | ratio |\n|---|---|---|---|'
    start = time.perf_counter()
    for done, (name, config, reference_spec) in enumerate(rows, 1):
        ours, reference = build_pair(config, reference_spec)
        ms_ours, ms_ref = interleaved_median_ms(ours, reference, x, repeats, warmup)
        yield f'| {name} | {ms_ours:.1f} | {ms_ref:.1f} | {ms_ours / ms_ref:.2f} |'
        print_progress(done, len(rows), start, name)
