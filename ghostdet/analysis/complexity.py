"""Parameters and FLOPs (multiply-adds) of a detector, by part."""
from functools import partial
from typing import Dict, Optional, Sequence

import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count

from .detector import build_detector, config_input_shape, dummy_batch, load_config


def complexity_by_part(model: nn.Module, shape: Sequence[int]) -> Dict[str, Dict[str, float]]:
    """Parameters and FLOPs (multiply-adds) of every top-level part (backbone, neck, heads) and in total.

    Two-stage detectors count the RoI head on the proposals the RPN gives for this input (``test_cfg.rpn``).
    """
    data = dummy_batch(model, shape)
    forward = model.forward
    model.forward = partial(forward, data_samples=data['data_samples'], mode='tensor')
    try:
        analyzer = FlopAnalyzer(model, (data['inputs'], ))
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        flops = analyzer.by_module()
    finally:
        del model.forward
    params = parameter_count(model)
    parts = {name: dict(params=params.get(name, 0), flops=flops.get(name, 0))
             for name, _ in model.named_children() if name != 'data_preprocessor'}
    parts['total'] = dict(params=params[''], flops=flops[''])
    return parts


def complexity_table(config: str, shape: Optional[Sequence[int]] = None, deploy: bool = True,
                     cfg_options: Optional[dict] = None) -> str:
    """A markdown table of :func:`complexity_by_part` for a config file.

    Args:
        config (str): The detector config.
        shape (tuple, optional): Input (H, W). Default: the config's test size (:func:`config_input_shape`).
        deploy (bool): Count the inference form (GhostNetV3 fused, BatchNorm folded). Default: True.
        cfg_options (dict, optional): Settings merged into the config.
    """
    cfg = load_config(config, cfg_options)
    shape = tuple(shape) if shape else config_input_shape(cfg)
    parts = complexity_by_part(build_detector(cfg, deploy=deploy), shape)
    form = 'inference form' if deploy else 'training form'
    rows = [f'| {name} | {value["params"] / 1e6:.3f} | {value["flops"] / 1e9:.3f} |' for name, value in parts.items()]
    return '\n'.join([f'{config}\ninput 1x3x{shape[0]}x{shape[1]} ({form}); FLOPs = multiply-adds',
                      '| part | params (M) | GFLOPs |', '|---|---|---|', *rows])
