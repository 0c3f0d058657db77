from .base import LightweightBackbone
from .ghostnet import GhostNet, GhostNetV2

__all__ = ["LightweightBackbone", "GhostNet", "GhostNetV2"]
