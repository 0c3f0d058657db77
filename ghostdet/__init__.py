"""ghostdet: compact backbones (GhostNet V1/V2/V3, ShuffleNet V1/V2) for MMDetection 3.x.

``import ghostdet`` registers every ghostdet module in mmdet's registries (so
``custom_imports=dict(imports=['ghostdet'])`` is all an mmdet config needs) and makes mmengine's
checkpoint loading work on torch >= 2.6 without turning ``weights_only`` off.
"""
from .checkpoint import install_safe_checkpoint_loading
from .version import __version__

install_safe_checkpoint_loading()

from . import datasets, evaluation, models  # noqa: E402,F401  (registration)

__all__ = ['__version__']
