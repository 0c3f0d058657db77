# GhostNetV2 1.0x: GhostNet's levels and channels, DFC attention added; swapped into the configs/ghostnet configs.
# ImageNet weights (official, 75.2 % top-1; timm's ghostnetv2_100.in1k loads too), saved under checkpoints/:
#   https://github.com/huawei-noah/Efficient-AI-Backbones/releases/download/GhostNetV2/ck_ghostnetv2_10.pth.tar
ghostnetv2 = dict(
    type='GhostNetV2', init_cfg=dict(type='Pretrained', checkpoint='checkpoints/ck_ghostnetv2_10.pth.tar'))
