"""Size, compute and latency of detectors and backbones without a dataset (a generated image of a given size).

FLOPs are counted as mmengine counts them: one multiply-add = one FLOP, the convention of the GhostNet /
ShuffleNet / MobileNet papers. ``model_zoo`` and ``backbone_speed`` (the README's tables) are imported on their own:
the latter needs the ``tests`` extra (timm, mmpretrain) for its references.
"""
from .complexity import complexity_by_part, complexity_table
from .detector import build_detector, config_input_shape, dummy_batch, load_config
from .latency import (describe_cpu, forward_call, interleaved_latency, interleaved_median_ms, latency_summary,
                      measure_latency)

__all__ = ['build_detector', 'complexity_by_part', 'complexity_table', 'config_input_shape',
           'describe_cpu', 'dummy_batch', 'forward_call', 'interleaved_latency', 'interleaved_median_ms',
           'latency_summary', 'load_config', 'measure_latency']
