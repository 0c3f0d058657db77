from . import backbones, detectors, layers, losses  # noqa: F401  (registration)
from .deploy import convert_to_deploy, switch_detector_to_deploy
from .neck_check import check_neck_in_channels, install_neck_check

__all__ = ['convert_to_deploy', 'switch_detector_to_deploy', 'check_neck_in_channels', 'install_neck_check']
