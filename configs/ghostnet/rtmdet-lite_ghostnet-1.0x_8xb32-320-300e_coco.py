# RTMDet-lite with GhostNet 1.0x at 320x320, for the smallest devices: the 416 config (see there) with every
# pipeline size scaled to 320 (Mosaic canvas, resize, crop, padding, test resize).
_base_ = './rtmdet-lite_ghostnet-1.0x_8xb32-416-300e_coco.py'

img_scale = (320, 320)


def rescaled(pipeline, old, new):  # (functions are not kept in the parsed config)
    """The pipeline with every size given in multiples of the old input size moved to the new one."""
    for step in pipeline:
        for key in ('img_scale', 'scale', 'crop_size', 'size'):
            if isinstance(step.get(key), (tuple, list)):
                step[key] = tuple(new[i] * step[key][i] // old[i] for i in range(2))
    return pipeline


train_pipeline = rescaled(_base_.train_pipeline, _base_.img_scale, img_scale)
train_pipeline_stage2 = rescaled(_base_.train_pipeline_stage2, _base_.img_scale, img_scale)
test_pipeline = rescaled(_base_.test_pipeline, _base_.img_scale, img_scale)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
custom_hooks = [_base_.custom_hooks[0], dict(_base_.custom_hooks[1], switch_pipeline=train_pipeline_stage2)]
