# ShuffleNetV1 1.0x (g=3), swapped into the configs/ghostnet configs.
# ImageNet weights: mmpretrain's ShuffleNetV1 1.0x g=3 (68.1 % top-1),
#   https://download.openmmlab.com/mmclassification/v0/shufflenet_v1/shufflenet_v1_batch1024_imagenet_20200804-5d6cec73.pth
# saved as checkpoints/shufflenet_v1_batch1024_imagenet_20200804-5d6cec73.pth (megvii-model/ShuffleNet-Series
# weights shuffle channels in another order and are refused).
# Levels (out_indices): 0 conv1+max-pool, 1-3 stage2-4: strides 4/8/16/32, 24/240/480/960 channels.
shufflenetv1 = dict(
    type='ShuffleNetV1',
    groups=3,
    widen_factor=1.0,
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/shufflenet_v1_batch1024_imagenet_20200804-5d6cec73.pth'))
