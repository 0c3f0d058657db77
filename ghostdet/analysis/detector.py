"""A detector and its input from a config alone: random weights (or a checkpoint), a generated image."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from ..models import switch_detector_to_deploy


def load_config(config: Union[str, Config], cfg_options: Optional[dict] = None) -> Config:
    """The config (a path or a Config) with ``cfg_options`` merged in; its default scope made current."""
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return cfg


def config_input_shape(cfg: Config) -> Tuple[int, int]:
    """(H, W) the config tests at: the ``scale`` (W, H) of the test pipeline's ``Resize`` (for a keep-ratio resize,
    the largest image it produces)."""
    pipeline = cfg.get('test_pipeline') or cfg.test_dataloader.dataset.get('pipeline', [])
    for step in pipeline:
        if step['type'].split('.')[-1] == 'Resize' and 'scale' in step:
            scale = step['scale']
            width, height = (scale, scale) if isinstance(scale, int) else scale
            return height, width
    raise ValueError('the config has no test-pipeline Resize with a scale; give the input shape explicitly')


def build_detector(cfg: Config, checkpoint: Optional[str] = None, deploy: bool = True,
                   device: str = 'cpu') -> nn.Module:
    """The config's model in eval mode without loading ImageNet weights (random weights unless ``checkpoint``), in
    the inference form of :func:`~ghostdet.models.switch_detector_to_deploy` when ``deploy``."""
    model_cfg = cfg.model.copy()
    if isinstance(model_cfg.get('backbone', {}).get('init_cfg'), dict):
        model_cfg.backbone.init_cfg = None  # only the architecture matters here
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    model.eval()
    if deploy:
        switch_detector_to_deploy(model)
    return model.to(device)


def dummy_batch(model: nn.Module, shape: Sequence[int], device: str = 'cpu') -> dict:
    """One random image of ``shape`` (H, W) through the model's data preprocessor (normalised, padded)."""
    height, width = shape
    generator = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=generator)
    sample = DetDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                         scale_factor=(1.0, 1.0)))
    return model.data_preprocessor({'inputs': [image.to(device)], 'data_samples': [sample]}, False)
