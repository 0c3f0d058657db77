# ShuffleNetV2 1.0x. Levels (out_indices): 0 conv1+max-pool, 1-3 stage2-4, 4 conv5: strides 4/8/16/32/32,
# 24/116/232/464/1024 channels. ImageNet weights (torchvision IMAGENET1K_V1, 69.4 % top-1; mmpretrain's 1.0x
# checkpoint loads too), saved under checkpoints/: https://download.pytorch.org/models/shufflenetv2_x1-5666bf0f80.pth
shufflenetv2 = dict(
    type='ShuffleNetV2', widen_factor=1.0, init_cfg=dict(type='Pretrained',
                                                         checkpoint='checkpoints/shufflenetv2_x1-5666bf0f80.pth'))
