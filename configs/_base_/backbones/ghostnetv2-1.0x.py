# GhostNetV2 1.0x: GhostNet's levels and channels, DFC attention added; swapped into the configs/ghostnet configs.
# ImageNet weights: the official GhostNetV2 1.0x checkpoint (75.2 % top-1 as timm measures it),
#   https://github.com/huawei-noah/Efficient-AI-Backbones/releases/download/GhostNetV2/ck_ghostnetv2_10.pth.tar
# saved as checkpoints/ck_ghostnetv2_10.pth.tar (its thop buffers are skipped); timm's `ghostnetv2_100.in1k`
# state dict loads the same way.
ghostnetv2 = dict(
    type='GhostNetV2', init_cfg=dict(type='Pretrained', checkpoint='checkpoints/ck_ghostnetv2_10.pth.tar'))
