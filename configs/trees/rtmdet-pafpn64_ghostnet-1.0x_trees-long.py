# The GhostNet tree detector with a 40 % longer schedule (840 iterations, about 21 minutes on 2 cores); everything else
# as in its base config. Warm-up and cosine decay are re-derived from max_iters.
_base_ = './rtmdet-pafpn64_ghostnet-1.0x_trees.py'

max_iters = 840
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.02, by_epoch=False, begin=30, end=max_iters, T_max=max_iters - 30)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
