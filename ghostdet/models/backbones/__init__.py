from .base import LightweightBackbone
from .ghostnet import GhostNet, GhostNetV2, GhostNetV3

__all__ = ["LightweightBackbone", "GhostNet", "GhostNetV2", "GhostNetV3"]
