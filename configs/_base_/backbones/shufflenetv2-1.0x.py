# ShuffleNetV2 1.0x, swapped into the configs/ghostnet configs.
# ImageNet weights: torchvision's ShuffleNetV2 1.0x (IMAGENET1K_V1, 69.4 % top-1),
#   https://download.pytorch.org/models/shufflenetv2_x1-5666bf0f80.pth
# saved as checkpoints/shufflenetv2_x1-5666bf0f80.pth; mmpretrain's ShuffleNetV2 1.0x checkpoint
# (shufflenet_v2_batch1024_imagenet_20200812-5bf4721e.pth, 69.6 %) loads the same way.
# Levels (out_indices): 0 conv1+max-pool, 1-3 stage2-4, 4 conv5: strides 4/8/16/32/32, 24/116/232/464/1024 channels.
shufflenetv2 = dict(
    type='ShuffleNetV2', widen_factor=1.0, init_cfg=dict(type='Pretrained',
                                                         checkpoint='checkpoints/shufflenetv2_x1-5666bf0f80.pth'))
