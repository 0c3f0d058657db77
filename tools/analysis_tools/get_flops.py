"""Parameters and FLOPs of a detector config by part (backbone, neck, heads) on a generated image.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W] [--no-deploy] [--cfg-options k=v ...]

Needs no dataset (mmdet's get_flops.py reads images through the config's val_dataloader). Counts the inference
form by default: ghostdet backbones switched to deploy (GhostNetV3 branches fused, BatchNorm folded) and the
neck / head BatchNorms folded. FLOPs are multiply-adds (mmengine's convention and the papers'). The default shape
is the config's test Resize scale (for keep-ratio resizes, the largest image it gives), padded as the model's data
preprocessor pads it.
"""
import argparse

from mmengine.config import DictAction

import ghostdet  # noqa: F401
from ghostdet.analysis import build_detector, complexity_by_part, config_input_shape, load_config


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), help='input size (default: the config\'s)')
    parser.add_argument('--no-deploy', action='store_true', help='count the training form (GhostNetV3 branches, BN)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args()

    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    shape = tuple(args.shape) if args.shape else config_input_shape(cfg)
    model = build_detector(cfg, deploy=not args.no_deploy)
    parts = complexity_by_part(model, shape)
    form = 'training form' if args.no_deploy else 'inference form'
    print(f'{args.config}\ninput 1x3x{shape[0]}x{shape[1]} ({form}); FLOPs = multiply-adds')
    print(f'| part | params (M) | GFLOPs |\n|---|---|---|')
    for name, value in parts.items():
        print(f'| {name} | {value["params"] / 1e6:.3f} | {value["flops"] / 1e9:.3f} |')


if __name__ == '__main__':
    main()
