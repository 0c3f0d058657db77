"""CPU latency of ghostdet backbones in inference form against the same architecture in timm / torchvision /
mmpretrain.

    python tools/analysis_tools/benchmark_backbones.py [--shape 640 640] [--repeats 20] [--threads N] [--only NAME]

ghostdet: ``switch_to_deploy()`` (BN folded, GhostNetV3 branches fused), eval, ``forward``.
timm: ``forward_features`` in eval mode (GhostNetV3 after timm's own ``convert_to_deploy()``); torchvision
ShuffleNetV2: its modules up to ``conv5`` in eval mode; mmpretrain ShuffleNetV1: its backbone in eval mode.
timm rows load timm's random weights into ghostdet's model; both get the same input. Timings are interleaved
(one call of each per round) so load on the machine affects both alike. Prints the median of each and the ratio ghostdet / reference.
"""
import argparse
import statistics
import time

import timm
import torch
import torchvision
from mmdet.registry import MODELS
from mmpretrain.models.backbones import ShuffleNetV1 as MMPretrainShuffleNetV1

import ghostdet  # noqa: F401


def torchvision_shufflenet_v2(width: str):
    """torchvision's ``shufflenet_v2_x{width}`` features up to ``conv5`` (no pooling / fc), eval mode."""
    model = getattr(torchvision.models, f'shufflenet_v2_x{width}')().eval()
    return lambda x: model.conv5(model.stage4(model.stage3(model.stage2(model.maxpool(model.conv1(x))))))


def mmpretrain_shufflenet_v1(groups: int):
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


def build_pair(config: dict, reference_spec):
    ours = MODELS.build(config).eval()
    if callable(reference_spec):
        return ours.switch_to_deploy(), reference_spec()
    reference = timm.create_model(reference_spec).eval()
    # timm's weights in both, so the same numbers flow through both (and the architectures provably match)
    ours.load_state_dict(ours.convert_state_dict(reference.state_dict()))
    if hasattr(reference, 'convert_to_deploy'):
        reference.convert_to_deploy()
    return ours.switch_to_deploy(), reference.forward_features


@torch.inference_mode()
def interleaved_median_ms(first, second, x: torch.Tensor, repeats: int, warmup: int = 3):
    for _ in range(warmup):
        first(x), second(x)
    times = ([], [])
    for _ in range(repeats):
        for fn, bucket in zip((first, second), times):
            start = time.perf_counter()
            fn(x)
            bucket.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times[0]), statistics.median(times[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--shape', type=int, nargs=2, default=(640, 640), metavar=('H', 'W'))
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch default)')
    parser.add_argument('--only', help='run only the rows whose name contains this text, e.g. ShuffleNetV2')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    x = torch.randn(1, 3, *args.shape)
    print(f'input 1x3x{args.shape[0]}x{args.shape[1]}, {torch.get_num_threads()} threads, '
          f'{args.repeats} interleaved rounds, median ms')
    print(f'| backbone | ghostdet (deploy) ms | reference ms | ratio |\n|---|---|---|---|')
    for name, config, reference_spec in ROWS:
        if args.only and args.only not in name:
            continue
        ours, reference = build_pair(config, reference_spec)
        ms_ours, ms_ref = interleaved_median_ms(ours, reference, x, args.repeats)
        print(f'| {name} | {ms_ours:.1f} | {ms_ref:.1f} | {ms_ours / ms_ref:.2f} |', flush=True)


if __name__ == '__main__':
    main()
