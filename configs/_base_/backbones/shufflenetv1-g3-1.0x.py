# ShuffleNetV1 1.0x (g=3). Levels (out_indices): 0 conv1+max-pool, 1-3 stage2-4: strides 4/8/16/32, 24/240/480/960
# channels. ImageNet weights (mmpretrain, 68.1 % top-1): the file named below, saved under checkpoints/ from
#   https://download.openmmlab.com/mmclassification/v0/shufflenet_v1/
shufflenetv1 = dict(
    type='ShuffleNetV1',
    groups=3,
    widen_factor=1.0,
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/shufflenet_v1_batch1024_imagenet_20200804-5d6cec73.pth'))
