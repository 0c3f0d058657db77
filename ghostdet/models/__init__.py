from . import backbones, layers  # noqa: F401  (registration)
