"""CPU latency of ghostdet backbones in inference form against the same architecture in timm / torchvision /
mmpretrain, interleaved in one process (what is timed: ghostdet/analysis/backbone_speed.py).

    python tools/analysis_tools/benchmark_backbones.py [--shape 640 640] [--repeats 20] [--threads N] [--only NAME]
"""
import argparse

from ghostdet.analysis.backbone_speed import backbone_speed_table
from ghostdet.cli import add_timing_arguments


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--shape', type=int, nargs=2, default=(640, 640), metavar=('H', 'W'))
    add_timing_arguments(parser, repeats=20, warmup=3)
    parser.add_argument('--only', help='run only the rows whose name contains this text, e.g. ShuffleNetV2')
    args = parser.parse_args()
    for line in backbone_speed_table(args.shape, args.repeats, args.warmup, args.only, args.threads):
        print(line, flush=True)


if __name__ == '__main__':
    main()
