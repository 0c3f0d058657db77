"""Fuse a trained detector's GhostNetV3 backbone (re-parameterised branches and BatchNorm) for deployment.

    python tools/model_converters/ghostnetv3_deploy.py CONFIG CHECKPOINT OUT_CHECKPOINT [--out-config OUT_CONFIG]

The fused checkpoint loads into the same config with the backbone built in its fused form:
``--cfg-options model.backbone.deploy=True`` (or ``backbone=dict(..., deploy=True)`` in the config, which
``--out-config`` writes for you). The detector's outputs are unchanged (eval mode).
"""
import argparse

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint, save_checkpoint

import ghostdet  # noqa: F401
from mmdet.registry import MODELS


def convert(config: Config, checkpoint: str, out_checkpoint: str) -> torch.nn.Module:
    """Build ``config``'s detector, load ``checkpoint`` strictly, fuse the backbone, save; return the model."""
    init_default_scope(config.get('default_scope', 'mmdet'))
    model = MODELS.build(config.model)
    if not hasattr(model.backbone, 'switch_to_deploy'):
        raise ValueError(f'the backbone {type(model.backbone).__name__} has no switch_to_deploy(); '
                         f'this tool converts ghostdet backbones such as GhostNetV3')
    if getattr(model.backbone, 'deploy', False):
        raise ValueError('the config already builds the fused backbone (deploy=True); give the training config')
    source = load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    model.eval()
    model.backbone.switch_to_deploy()
    save_checkpoint({'meta': source.get('meta', {}), 'state_dict': model.state_dict()}, out_checkpoint)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out_checkpoint')
    parser.add_argument('--out-config', help='also write the config with model.backbone.deploy=True')
    args = parser.parse_args()
    config = Config.fromfile(args.config)
    convert(config, args.checkpoint, args.out_checkpoint)
    if args.out_config:
        config.merge_from_dict({'model.backbone.deploy': True})
        config.dump(args.out_config)
    print(f'wrote {args.out_checkpoint}; load it with model.backbone.deploy=True'
          + (f' ({args.out_config})' if args.out_config else ''))


if __name__ == '__main__':
    main()
