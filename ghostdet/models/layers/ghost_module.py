"""Ghost modules (GhostNet, GhostNetV3's re-parameterisable form) and GhostNetV2's DFC attention."""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer

from .conv import ConvBn, conv_norm_act, conv_norm_layers
from .rep_conv import fused_conv, rep_sum


class DFCAttention(nn.Sequential):
    """GhostNetV2's decoupled fully-connected attention branch, computed on a 2x down-sampled map.

    1x1 conv -> BN -> depthwise (1, k) -> BN -> depthwise (k, 1) -> BN: long-range horizontal then vertical
    mixing at a quarter of the pixels. ``forward`` returns the sigmoid gate at the down-sampled resolution;
    the Ghost module up-samples it (nearest) to its own output size, so odd input sizes work.
    Children are indexed ``0..5`` like ``short_conv`` in the official code and timm.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5,
                 norm_cfg: dict = dict(type='BN')):
        super().__init__(
            *conv_norm_layers(in_channels, out_channels, 1, norm_cfg=norm_cfg),
            *conv_norm_layers(out_channels, out_channels, (1, kernel_size), groups=out_channels, norm_cfg=norm_cfg),
            *conv_norm_layers(out_channels, out_channels, (kernel_size, 1), groups=out_channels, norm_cfg=norm_cfg),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(super().forward(F.avg_pool2d(x, kernel_size=2, stride=2)))


def merge_ghost_maps(intrinsic: torch.Tensor, ghosts: torch.Tensor, channels: int,
                     gate: Optional[torch.Tensor] = None, residual: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``cat([intrinsic, ghosts])[:, :channels]``, times the nearest-upsampled DFC ``gate``, plus ``residual``.

    While autograd records (training) this is written as it reads. Otherwise each part is written once, straight
    into its channels of the output (``out=``), with no intermediate concatenation, upsampled gate or separate
    residual pass: those full-resolution copies are memory traffic of the same order as the cheap depthwise convs.
    A gate of exactly half the output size is repeated along W (a small copy) and broadcast over row pairs, which
    is nearest upsampling; broadcasting over whole 2x2 blocks instead gives an inner loop of only 2 elements.
    """
    ghosts = ghosts[:, :channels - intrinsic.shape[1]]
    height, width = intrinsic.shape[-2:]
    if intrinsic.requires_grad or ghosts.requires_grad:
        out = torch.cat([intrinsic, ghosts], dim=1)
        if gate is not None:
            out = out * F.interpolate(gate, size=(height, width), mode='nearest')
        return out if residual is None else out + residual

    channels_last = intrinsic.is_contiguous(memory_format=torch.channels_last) and not intrinsic.is_contiguous()
    out = torch.empty((intrinsic.shape[0], channels, height, width), dtype=intrinsic.dtype, device=intrinsic.device,
                      memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    view = (lambda t: t)
    if gate is not None and tuple(gate.shape[-2:]) == (height // 2, width // 2) and height % 2 == width % 2 == 0:
        gate = gate.unsqueeze(-1).expand(*gate.shape, 2).flatten(-2).unsqueeze(3)  # (N, C, H/2, 1, W)
        view = (lambda t: t.unflatten(2, (height // 2, 2)))  # (N, C, H/2, 2, W): one gate row serves two rows
    elif gate is not None:
        gate = F.interpolate(gate, size=(height, width), mode='nearest')
    start = 0
    for part in (intrinsic, ghosts):
        stop = start + part.shape[1]
        target = out[:, start:stop]
        if gate is not None:
            torch.mul(view(part), gate[:, start:stop], out=view(target))
            if residual is not None:
                target += residual[:, start:stop]
        elif residual is not None:
            torch.add(part, residual[:, start:stop], out=target)
        else:
            target.copy_(part)
        start = stop
    return out


class GhostModule(nn.Module):
    """Ghost module (GhostNet, CVPR 2020): a few intrinsic maps from a 1x1 conv, the rest ("ghosts") from a
    cheap depthwise conv applied to them, concatenated.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        ratio (int): ``out / intrinsic`` channels; ``ceil(out / ratio)`` maps come from the 1x1 conv.
        dw_size (int): Kernel size of the cheap depthwise operation.
        use_act (bool): Apply ``act_cfg`` after both convs (the first module of a bottleneck does).
        dfc_attention (bool): Multiply the output by GhostNetV2's DFC attention gate (``short_conv``).
        norm_cfg (dict): Norm layer config.
        act_cfg (dict): Activation config.
    """

    def __init__(self, in_channels: int, out_channels: int, ratio: int = 2, dw_size: int = 3,
                 use_act: bool = True, dfc_attention: bool = False, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU')):
        super().__init__()
        self.out_channels = out_channels
        intrinsic = math.ceil(out_channels / ratio)
        act = act_cfg if use_act else None
        self.primary_conv = conv_norm_act(in_channels, intrinsic, 1, norm_cfg=norm_cfg, act_cfg=act)
        self.cheap_operation = conv_norm_act(intrinsic, intrinsic * (ratio - 1), dw_size, groups=intrinsic,
                                             norm_cfg=norm_cfg, act_cfg=act)
        self.short_conv = DFCAttention(in_channels, out_channels, norm_cfg=norm_cfg) if dfc_attention else None

    def forward(self, x: torch.Tensor, residual: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The Ghost maps (gated by DFC attention if any), plus ``residual`` (a bottleneck's shortcut) if given."""
        intrinsic = self.primary_conv(x)
        gate = self.short_conv(x) if self.short_conv is not None else None
        return merge_ghost_maps(intrinsic, self.cheap_operation(intrinsic), self.out_channels, gate, residual)


class RepGhostModule(nn.Module):
    """GhostNetV3's Ghost module: the primary 1x1 conv and the cheap depthwise conv are re-parameterisable.

    Training form (timm / official key names): ``primary_rpr_conv`` = ``num_branches`` parallel 1x1 conv+BN (no
    BN identity branch: the official code adds one only when in == intrinsic channels, which the GhostNet table
    never gives, and timm has none); ``cheap_rpr_conv`` = ``num_branches`` parallel depthwise conv+BN plus a 1x1
    depthwise ``cheap_rpr_scale`` and a BN identity ``cheap_rpr_skip``. :meth:`switch_to_deploy` fuses each into
    one conv with bias (``primary_conv.0`` / ``cheap_operation.0``, the official/timm deploy key names).

    Args:
        in_channels, out_channels (int): Channels in / out (ratio 2: half intrinsic, half ghost maps).
        dw_size (int): Kernel of the cheap depthwise conv.
        use_act (bool): Activation after each of the two convs.
        dfc_attention (bool): GhostNetV2's DFC attention gate (``short_conv``), kept as it is (not fused).
        num_branches (int): Parallel conv+BN branches per re-parameterisable conv.
    """

    def __init__(self, in_channels: int, out_channels: int, dw_size: int = 3, use_act: bool = True,
                 dfc_attention: bool = False, num_branches: int = 3, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU')):
        super().__init__()
        self.out_channels = out_channels
        self.deploy = False
        intrinsic = math.ceil(out_channels / 2)
        self.primary_rpr_conv = nn.ModuleList(
            ConvBn(in_channels, intrinsic, 1, norm_cfg=norm_cfg) for _ in range(num_branches))
        self.primary_activation = build_activation_layer(act_cfg) if use_act else nn.Identity()
        self.cheap_rpr_conv = nn.ModuleList(
            ConvBn(intrinsic, intrinsic, dw_size, groups=intrinsic, norm_cfg=norm_cfg) for _ in range(num_branches))
        self.cheap_rpr_scale = ConvBn(intrinsic, intrinsic, 1, groups=intrinsic, norm_cfg=norm_cfg)
        self.cheap_rpr_skip = build_norm_layer(norm_cfg, intrinsic)[1]
        self.cheap_activation = build_activation_layer(act_cfg) if use_act else nn.Identity()
        self.short_conv = DFCAttention(in_channels, out_channels, norm_cfg=norm_cfg) if dfc_attention else None

    def forward(self, x: torch.Tensor, residual: Optional[torch.Tensor] = None) -> torch.Tensor:
        """As :meth:`GhostModule.forward`; the two convs are the sums of their branches until fused."""
        if self.deploy:
            intrinsic = self.primary_conv(x)
            ghosts = self.cheap_operation(intrinsic)
        else:
            intrinsic = self.primary_activation(rep_sum(x, self.primary_rpr_conv))
            ghosts = self.cheap_activation(rep_sum(intrinsic, self.cheap_rpr_conv, self.cheap_rpr_scale,
                                                   self.cheap_rpr_skip))
        gate = self.short_conv(x) if self.short_conv is not None else None
        return merge_ghost_maps(intrinsic, ghosts, self.out_channels, gate, residual)

    def switch_to_deploy(self):
        if self.deploy:
            return
        self.primary_conv = nn.Sequential(fused_conv(self.primary_rpr_conv), self.primary_activation)
        self.cheap_operation = nn.Sequential(
            fused_conv(self.cheap_rpr_conv, self.cheap_rpr_scale, self.cheap_rpr_skip), self.cheap_activation)
        for name in ('primary_rpr_conv', 'primary_activation', 'cheap_rpr_conv', 'cheap_rpr_scale',
                     'cheap_rpr_skip', 'cheap_activation'):
            delattr(self, name)
        self.deploy = True
