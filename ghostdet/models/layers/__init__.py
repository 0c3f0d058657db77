"""Building blocks written once and shared by every backbone family."""
from .channel_shuffle import channel_shuffle, concat_shuffle
from .fusion import conv_from_kernel, fold_sequential_batch_norms, fuse_bn_tensor, fuse_conv_bn
from .ghost_module import DFCAttention, GhostModule, RepGhostModule, conv_norm_act
from .rep_conv import ConvBn, fuse_rep_branches, fused_conv, identity_kernel, rep_sum
from .make_divisible import make_divisible
from .squeeze_excite import SqueezeExcite

__all__ = ['channel_shuffle', 'concat_shuffle', 'conv_from_kernel', 'fold_sequential_batch_norms', 'fuse_bn_tensor',
           'fuse_conv_bn', 'DFCAttention', 'GhostModule', 'RepGhostModule', 'conv_norm_act', 'ConvBn', 'fuse_rep_branches',
           'fused_conv', 'identity_kernel', 'rep_sum', 'make_divisible', 'SqueezeExcite']
