# GhostNet 1.0x, the backbone of every configs/ghostnet config (detector configs add out_indices and freezing).
# Levels (out_indices = blocks 0-9): strides 4/8/16/32 end at blocks 2/4/6/9 with 24/40/112/960 channels.
# ImageNet weights (official, 73.98 % top-1; timm's ghostnet_100.in1k loads too), saved under checkpoints/:
#   https://github.com/huawei-noah/ghostnet/raw/master/ghostnet_pytorch/models/state_dict_73.98.pth
ghostnet = dict(
    type='GhostNet', widen_factor=1.0, init_cfg=dict(type='Pretrained', checkpoint='checkpoints/state_dict_73.98.pth'))
