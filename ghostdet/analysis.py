"""Complexity and latency of a detector config without a dataset: a generated image of a given size.

Used by ``tools/analysis_tools/get_flops.py``, ``benchmark.py`` and ``model_zoo.py``. FLOPs are counted as
mmengine counts them (one multiply-add = one FLOP, the convention of the GhostNet / ShuffleNet / MobileNet papers).
"""
import statistics
import time
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample

from .models import switch_detector_to_deploy


def load_config(config: Union[str, Config]) -> Config:
    cfg = Config.fromfile(config) if isinstance(config, str) else config
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
    data = model.data_preprocessor({'inputs': [image.to(device)], 'data_samples': [sample]}, False)
    return data


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


def measure_latency(model: nn.Module, shape: Sequence[int], repeats: int = 20, warmup: int = 3,
                    mode: str = 'tensor', device: str = 'cpu') -> List[float]:
    """Milliseconds per forward of one image of ``shape``, ``repeats`` times after ``warmup`` runs.

    ``mode='tensor'``: the network (backbone, neck, head; for two-stage detectors RPN proposals and RoI head);
    ``'predict'``: also box decoding and NMS (meaningful with trained weights: random weights give random box counts).
    """
    data = dummy_batch(model, shape, device)
    run = partial(model, data['inputs'], data['data_samples'], mode=mode)
    sync = torch.cuda.synchronize if torch.device(device).type == 'cuda' else (lambda: None)
    times = []
    with torch.inference_mode():
        for step in range(warmup + repeats):
            sync()
            start = time.perf_counter()
            run()
            sync()
            if step >= warmup:
                times.append((time.perf_counter() - start) * 1e3)
    return times


def latency_summary(times_ms: Sequence[float]) -> Dict[str, float]:
    """Median and 90th percentile (ms / image) and the FPS at the median."""
    median = statistics.median(times_ms)
    return dict(median_ms=median, p90_ms=float(np.percentile(times_ms, 90)), fps=1e3 / median)
