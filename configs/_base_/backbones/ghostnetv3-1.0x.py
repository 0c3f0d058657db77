# GhostNetV3 1.0x: GhostNetV2's levels and channels with re-parameterisable branches; swapped into the
# configs/ghostnet configs. Trains with the branches; tools/model_converters/ghostnetv3_deploy.py fuses a trained
# detector for inference (then set backbone.deploy=True in the config).
# ImageNet weights: the official GhostNetV3 1.0x checkpoint, its EMA weights (77.1 % top-1; use_ema=False takes the
# plain ones, 76.9 %),
#   https://github.com/huawei-noah/Efficient-AI-Backbones/releases/download/GhostNetV3/ghostnetv3-1.0.pth.tar
# saved as checkpoints/ghostnetv3-1.0.pth.tar; timm's `ghostnetv3_100.in1k` state dict loads the same way.
ghostnetv3 = dict(
    type='GhostNetV3',
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/ghostnetv3-1.0.pth.tar', use_ema=True))
