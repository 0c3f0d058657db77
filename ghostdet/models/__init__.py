from . import backbones, detectors, layers, losses  # noqa: F401  (registration)
from .compat import fix_ssd_head_predict
from .deploy import switch_detector_to_deploy
from .neck_check import check_neck_in_channels, install_neck_check

install_neck_check()
fix_ssd_head_predict()
