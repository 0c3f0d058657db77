"""CPU latency of ghostdet backbones in inference form against the same architecture in timm.

    python tools/analysis_tools/benchmark_backbones.py [--shape 640 640] [--repeats 20] [--threads N]

ghostdet: ``switch_to_deploy()`` (BN folded, GhostNetV3 branches fused), eval, ``forward``.
timm: ``forward_features`` in eval mode (GhostNetV3 after timm's own ``convert_to_deploy()``).
Both run on the same random weights layout and input; timings are interleaved (one call of each per round)
so load on the machine affects both alike. Prints the median of each and the ratio ghostdet / timm.
"""
import argparse
import statistics
import time

import timm
import torch
from mmdet.registry import MODELS

import ghostdet  # noqa: F401

ROWS = [  # name, ghostdet backbone config, timm model
    ('GhostNet 1.0x', dict(type='GhostNet', widen_factor=1.0, out_indices=(9, )), 'ghostnet_100'),
    ('GhostNetV2 1.0x', dict(type='GhostNetV2', widen_factor=1.0, out_indices=(9, )), 'ghostnetv2_100'),
    ('GhostNetV3 1.0x', dict(type='GhostNetV3', widen_factor=1.0, out_indices=(9, )), 'ghostnetv3_100'),
]


def build_pair(config: dict, timm_name: str):
    ours = MODELS.build(config).eval().switch_to_deploy()
    reference = timm.create_model(timm_name).eval()
    if hasattr(reference, 'convert_to_deploy'):
        reference.convert_to_deploy()
    return ours, reference.forward_features


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
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    x = torch.randn(1, 3, *args.shape)
    print(f'input 1x3x{args.shape[0]}x{args.shape[1]}, {torch.get_num_threads()} threads, '
          f'{args.repeats} interleaved rounds, median ms')
    print(f'| backbone | ghostdet (deploy) ms | timm ms | ratio |\n|---|---|---|---|')
    for name, config, timm_name in ROWS:
        ours, reference = build_pair(config, timm_name)
        ms_ours, ms_ref = interleaved_median_ms(ours, reference, x, args.repeats)
        print(f'| {name} | {ms_ours:.1f} | {ms_ref:.1f} | {ms_ours / ms_ref:.2f} |', flush=True)


if __name__ == '__main__':
    main()
