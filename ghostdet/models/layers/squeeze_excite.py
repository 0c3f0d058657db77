import torch
import torch.nn as nn
import torch.nn.functional as F

from .make_divisible import make_divisible


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation with a hard-sigmoid gate (MobileNetV3 / GhostNet flavour).

    Global average pool -> 1x1 conv (reduce) -> ReLU -> 1x1 conv (expand) -> ``relu6(x + 3) / 6`` -> scale.
    Key names (``conv_reduce``, ``conv_expand``) follow timm and the official GhostNet code.

    Args:
        channels (int): Input (and output) channels.
        reduction_ratio (float): Hidden width as a fraction of ``channels``.
        divisor (int): The hidden width is rounded to a multiple of this.
    """

    def __init__(self, channels: int, reduction_ratio: float = 0.25, divisor: int = 4):
        super().__init__()
        hidden = make_divisible(channels * reduction_ratio, divisor)
        self.conv_reduce = nn.Conv2d(channels, hidden, 1, bias=True)
        self.act = nn.ReLU(inplace=True)
        self.conv_expand = nn.Conv2d(hidden, channels, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.conv_expand(self.act(self.conv_reduce(x.mean((2, 3), keepdim=True))))
        return x * F.hardsigmoid(scale)
