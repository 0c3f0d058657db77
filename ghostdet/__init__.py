"""ghostdet: compact backbones (GhostNet V1/V2/V3, ShuffleNet V1/V2) for MMDetection 3.x.

``import ghostdet`` registers every ghostdet module in mmdet's registries (so
``custom_imports=dict(imports=['ghostdet'])`` is all an mmdet config needs) and makes mmengine's
checkpoint loading work on torch >= 2.6 without turning ``weights_only`` off.
"""
import warnings

# setuptools < 81 is pinned on purpose: mmengine resolves `mmdet::` config paths through pkg_resources, whose import
# then warns on every config load that it is deprecated and to pin setuptools < 81, which is done.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

from .checkpoint import install_safe_checkpoint_loading  # noqa: E402
from .version import __version__

install_safe_checkpoint_loading()

from . import datasets, evaluation, models  # noqa: E402,F401  (registration)

__all__ = ['__version__']
