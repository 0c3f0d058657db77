# GhostNetV3 1.0x: GhostNetV2's levels and channels with re-parameterisable branches (fused for inference: README).
# ImageNet weights (official EMA weights, 77.1 % top-1; use_ema=False: 76.9 %; timm's ghostnetv3_100.in1k loads
# too), saved under checkpoints/:
#   https://github.com/huawei-noah/Efficient-AI-Backbones/releases/download/GhostNetV3/ghostnetv3-1.0.pth.tar
ghostnetv3 = dict(
    type='GhostNetV3',
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/ghostnetv3-1.0.pth.tar', use_ema=True))
