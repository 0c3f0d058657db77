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


def write_tiny_detector(root: Path, data_root: Path, make_tiny_config: Callable) -> SimpleNamespace:
    """The tiny test config and a checkpoint of it: random weights, non-trivial BatchNorms (so the inference form
    has something to fold) and a raised classification bias, so that it detects plenty."""
    config = make_tiny_config(root / 'tiny.py', data_root)
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    init_default_scope('mmdet')
    model = randomise_batch_norms(MODELS.build(cfg.model).eval())
    with torch.no_grad():
        for conv in model.bbox_head.rtm_cls:
            conv.bias.fill_(1.0)
    checkpoint = root / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=dict(classes=CLASSES))), checkpoint)
    return SimpleNamespace(config=config, checkpoint=checkpoint, classes=CLASSES)
