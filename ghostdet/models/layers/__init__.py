"""Building blocks written once and shared by every backbone family."""
from .channel_shuffle import channel_shuffle
from .fusion import conv_from_kernel, fold_sequential_batch_norms, fuse_bn_tensor, fuse_conv_bn
from .ghost_module import DFCAttention, GhostModule, conv_norm_act
from .make_divisible import make_divisible
from .squeeze_excite import SqueezeExcite

__all__ = ['channel_shuffle', 'conv_from_kernel', 'fold_sequential_batch_norms', 'fuse_bn_tensor', 'fuse_conv_bn',
           'DFCAttention', 'GhostModule', 'conv_norm_act', 'make_divisible', 'SqueezeExcite']
