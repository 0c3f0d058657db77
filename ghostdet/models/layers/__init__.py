"""Building blocks written once and shared by every backbone family."""
from .channel_shuffle import channel_shuffle, concat_shuffle
from .conv import ConvBn, ConvBnAct, conv_norm_act, conv_norm_layers
from .fusion import conv_from_kernel, fold_bn_into_conv, fold_sequential_batch_norms, fuse_bn_tensor, fuse_conv_bn
from .ghost_module import DFCAttention, GhostModule, RepGhostModule
from .make_divisible import make_divisible
from .rep_conv import fuse_rep_branches, fused_conv, identity_kernel, rep_sum
from .squeeze_excite import SqueezeExcite

__all__ = ['channel_shuffle', 'concat_shuffle', 'ConvBn', 'ConvBnAct', 'conv_norm_act', 'conv_norm_layers',
           'conv_from_kernel', 'fold_bn_into_conv', 'fold_sequential_batch_norms', 'fuse_bn_tensor', 'fuse_conv_bn',
           'DFCAttention', 'GhostModule', 'RepGhostModule', 'make_divisible', 'fuse_rep_branches', 'fused_conv',
           'identity_kernel', 'rep_sum', 'SqueezeExcite']
