"""A tiny detector on disk (config + checkpoint) for the inference tests and the CLI tests."""
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from ghostdet.testing import randomise_batch_norms

CLASSES = ('square', 'disc', 'triangle')


def write_tiny_detector(root: Path, data_root: Path, make_tiny_config: Callable,
                        seed: int = 0) -> SimpleNamespace:
    """The tiny test config and a checkpoint of it: seeded random weights (the same whichever tests ran before),
    non-trivial BatchNorms (so the inference form has something to fold), a raised classification bias and
    valid boxes, so that it detects plenty for any seed."""
    config = make_tiny_config(root / 'tiny.py', data_root)
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    init_default_scope('mmdet')
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = randomise_batch_norms(MODELS.build(cfg.model).eval(), seed=seed)
    with torch.no_grad():
        for conv in model.bbox_head.rtm_cls:
            conv.bias.fill_(1.0)
        # random regressions are often negative (boxes inside out, dropped): sides about 3 strides from each prior,
        # overlapping enough that NMS keeps a few hundred boxes, not a top-k cut among near-equal scores
        for conv in model.bbox_head.rtm_reg:
            conv.weight.mul_(0.3)
            conv.bias.fill_(3.0)
    checkpoint = root / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=dict(classes=CLASSES))), checkpoint)
    return SimpleNamespace(config=config, checkpoint=checkpoint, classes=CLASSES)
