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

from ghostdet.analysis import complexity_table


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), help='input size (default: the config\'s)')
    parser.add_argument('--no-deploy', action='store_true', help='count the training form (GhostNetV3 branches, BN)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args()
    print(complexity_table(args.config, args.shape, deploy=not args.no_deploy, cfg_options=args.cfg_options))


if __name__ == '__main__':
    main()
