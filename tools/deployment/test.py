"""Evaluate an exported model with the config's own test dataloader and evaluator, as tools/test.py does.

    python tools/deployment/test.py CONFIG DIR [--backend onnxruntime|openvino|ncnn] [--threads N] [--work-dir W]
        [--out results.pkl] [--cfg-options k=v ...]

DIR is an export folder (tools/deployment/export.py); --backend defaults to the one it was exported for. The
metrics are printed and logged exactly as tools/test.py prints them for a checkpoint.
"""
import argparse

from mmengine.config import DictAction

import ghostdet  # noqa: F401
from ghostdet.deploy import evaluate_exported
from ghostdet.inference import EXPORTED_BACKENDS


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('model_dir', metavar='DIR')
    parser.add_argument('--backend', choices=EXPORTED_BACKENDS, help='default: the exported backend')
    parser.add_argument('--threads', type=int, help='runtime threads (default: the runtime\'s own)')
    parser.add_argument('--work-dir', help='logs go here (default: ./work_dirs/<config>_exported)')
    parser.add_argument('--out', help='also dump the detections to this .pkl (as tools/test.py --out)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args()
    evaluate_exported(args.config, args.model_dir, backend=args.backend, work_dir=args.work_dir, out=args.out,
                      threads=args.threads, cfg_options=args.cfg_options)


if __name__ == '__main__':
    main()
