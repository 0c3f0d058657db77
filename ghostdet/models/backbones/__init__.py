from .base import LightweightBackbone
from .ghostnet import GhostNet, GhostNetV2, GhostNetV3
from .shufflenet_v1 import ShuffleNetV1
from .shufflenet_v2 import ShuffleNetV2

__all__ = ["LightweightBackbone", "GhostNet", "GhostNetV2", "GhostNetV3", "ShuffleNetV1", "ShuffleNetV2"]
