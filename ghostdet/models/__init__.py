from . import backbones, detectors, layers, losses  # noqa: F401  (registration)
