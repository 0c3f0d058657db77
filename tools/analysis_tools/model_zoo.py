"""The README's model-zoo table: size, compute and CPU latency of every COCO config, with mmdet's MobileNetV2
configs as the baseline rows, measured the same way (what is counted: ghostdet/analysis/model_zoo.py).

    python tools/analysis_tools/model_zoo.py [--filter SUBSTRING ...] [--repeats 5] [--warmup 2] [--threads N]
        [--no-latency]
"""
import argparse
from pathlib import Path

from ghostdet.analysis.model_zoo import model_zoo_table
from ghostdet.cli import add_timing_arguments

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--filter', nargs='+', help='only configs whose name contains one of these')
    add_timing_arguments(parser, repeats=5, warmup=2)
    parser.add_argument('--no-latency', action='store_true', help='parameters and FLOPs only')
    args = parser.parse_args()
    for line in model_zoo_table(CONFIGS, args.filter, args.repeats, args.warmup, not args.no_latency, args.threads):
        print(line, flush=True)


if __name__ == '__main__':
    main()
