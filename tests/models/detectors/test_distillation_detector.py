"""DistillationDetector: a frozen, strictly loaded teacher outside the optimizer and the checkpoints; the student's
losses plus the distillation losses in training; exactly the student in predict/test."""
import copy
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config, ConfigDict
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import get_state_dict, save_checkpoint

import ghostdet  # noqa: F401
from ghostdet.checkpoint import CheckpointMismatchError
from ghostdet.models.detectors import DistillationDetector, load_teacher_model_config
from ghostdet.testing import randomise_batch_norms

REPO = Path(__file__).resolve().parents[3]
init_default_scope('mmdet')  # as the runner does with default_scope='mmdet'

NUM_CLASSES = 3
RGB_PREPROCESSOR = dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                        bgr_to_rgb=True, pad_size_divisor=32)
# The same normalisation written in BGR order (how mmdet's RTMDet configs write it).
BGR_PREPROCESSOR = dict(type='DetDataPreprocessor', mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395],
                        bgr_to_rgb=False, pad_size_divisor=32)
TINY_RESNET = dict(type='ResNet', depth=18, base_channels=8, out_indices=(1, 2, 3), norm_eval=False)  # 16/32/64 ch
TINY_GHOSTNET = dict(type='GhostNet', widen_factor=0.5, out_indices=(4, 6, 9))  # 20/56/480 ch


def dense_detector(kind, backbone, in_channels, channels, num_outs=3, preprocessor=RGB_PREPROCESSOR,
                   num_classes=NUM_CLASSES):
    """A tiny RetinaNet or GFL on strides 8/16/32 (one anchor per location)."""
    anchors = dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4, scales_per_octave=1,
                   strides=[8, 16, 32, 64][:num_outs])
    head = dict(num_classes=num_classes, in_channels=channels, stacked_convs=1, feat_channels=channels,
                anchor_generator=anchors)
    if kind == 'RetinaNet':
        head.update(type='RetinaHead',
                    bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[1.0] * 4),
                    loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                    loss_bbox=dict(type='L1Loss', loss_weight=1.0))
        assigner = dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0, ignore_iof_thr=-1)
    else:
        head.update(type='GFLHead', reg_max=4, norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
                    loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
                    loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
                    loss_bbox=dict(type='GIoULoss', loss_weight=2.0))
        assigner = dict(type='ATSSAssigner', topk=9)
    return dict(
        type=kind, data_preprocessor=preprocessor, backbone=backbone,
        neck=dict(type='FPN', in_channels=in_channels, out_channels=channels, num_outs=num_outs,
                  add_extra_convs='on_output'),
        bbox_head=head,
        train_cfg=dict(assigner=assigner, sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
                       debug=False),
        test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5),
                      max_per_img=20))


def teacher_model(kind='RetinaNet', **kwargs):
    return dense_detector(kind, TINY_RESNET, [16, 32, 64], 16, **kwargs)


def student_model(kind='RetinaNet', **kwargs):
    return dense_detector(kind, TINY_GHOSTNET, [20, 56, 480], 8, **kwargs)


def save_teacher(model_cfg, path, seed=0):
    """A 'trained' teacher: random weights with randomised BatchNorm statistics, saved as the runner saves."""
    torch.manual_seed(seed)
    teacher = MODELS.build(model_cfg)
    teacher.init_weights()
    randomise_batch_norms(teacher, seed)
    save_checkpoint({'meta': {}, 'state_dict': teacher.state_dict()}, str(path))
    return teacher


RETINA_LOSSES = dict(
    loss_pkd=dict(type='PKDLoss', loss_weight=2.0),
    loss_cwd=dict(type='CWDLoss', tau=1.0, loss_weight=1.0),
    loss_cwd_backbone=dict(type='CWDLoss', source='backbone', loss_weight=0.5),
    loss_kd_cls=dict(type='LogitKDLoss'))


def build_wrapper(tmp_path, kind='RetinaNet', distill_losses=RETINA_LOSSES, student=None, teacher=None):
    teacher = teacher or teacher_model(kind)
    save_teacher(teacher, tmp_path / 'teacher.pth')
    model = MODELS.build(dict(type='DistillationDetector', student=student or student_model(kind),
                              teacher=dict(config=dict(model=teacher), checkpoint=str(tmp_path / 'teacher.pth')),
                              distill_losses=distill_losses))
    model.init_weights()
    return model


def batch(model, training=True, batch_size=2, seed=0):
    torch.manual_seed(seed)
    packed = demo_mm_inputs(batch_size=batch_size, image_shapes=(3, 64, 64), num_items=[3] * batch_size,
                            num_classes=NUM_CLASSES)
    return model.data_preprocessor(packed, training)


@pytest.fixture(scope='module')
def retina_wrapper(tmp_path_factory):
    return build_wrapper(tmp_path_factory.mktemp('retina'))


def test_teacher_is_loaded_frozen_and_kept_out_of_parameters_and_state_dict(retina_wrapper, tmp_path):
    model = retina_wrapper
    reference = save_teacher(teacher_model(), tmp_path / 'again.pth')  # the same seed: the saved teacher
    for key, value in reference.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], value), key
    teacher_params = {id(p) for p in model.teacher.parameters()}
    assert teacher_params and not teacher_params & {id(p) for p in model.parameters()}
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert all(k.startswith(('student.', 'adapters.')) for k in get_state_dict(model)), list(get_state_dict(model))
    model.train()
    assert model.student.training and not model.teacher.training
    assert not any(m.training for m in model.teacher.modules())


def test_adapters_only_where_channels_differ(retina_wrapper):
    # FPN: student 8 ch -> teacher 16 ch, one 1x1 conv per level; backbone: 20/56/480 -> 16/32/64.
    assert set(retina_wrapper.adapters) == {'loss_pkd', 'loss_cwd', 'loss_cwd_backbone'}
    convs = retina_wrapper.adapters['loss_cwd_backbone']
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(20, 16, (1, 1)), (56, 32, (1, 1)),
                                                                             (480, 64, (1, 1))]
    assert [c.in_channels for c in retina_wrapper.adapters['loss_pkd']] == [8, 8, 8]


def test_training_steps_update_student_and_adapters_but_never_the_teacher(tmp_path):
    model = build_wrapper(tmp_path)
    teacher_before = copy.deepcopy(model.teacher.state_dict())  # parameters and BN statistics
    student_before = copy.deepcopy(model.student.state_dict())
    adapter_before = copy.deepcopy(model.adapters.state_dict())
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    model.train()
    for step in range(3):
        log = model.train_step(batch(model, seed=step), optim)
    assert {'loss_cls', 'loss_bbox', 'loss_pkd', 'loss_cwd', 'loss_cwd_backbone', 'loss_kd_cls'} <= set(log)
    assert all(torch.isfinite(v) for v in log.values())
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_before[key]), f'teacher {key} changed'
    assert all(p.grad is None for p in model.teacher.parameters())
    changed = [k for k, v in model.student.state_dict().items() if not torch.equal(v, student_before[k])]
    assert any(k.startswith('backbone.') for k in changed) and any(k.startswith('bbox_head.') for k in changed)
    assert all(not torch.equal(v, adapter_before[k]) for k, v in model.adapters.state_dict().items())


def test_loss_is_the_students_plus_the_distillation_terms(retina_wrapper):
    model = retina_wrapper.train()
    data = batch(model)
    torch.manual_seed(1)
    losses = model.loss(data['inputs'], data['data_samples'])
    torch.manual_seed(1)
    own = model.student.loss(data['inputs'], data['data_samples'])
    assert set(losses) == set(own) | set(RETINA_LOSSES)
    for key in own:
        assert torch.equal(torch.stack(list(own[key])), torch.stack(list(losses[key]))), key
    for key in RETINA_LOSSES:
        assert losses[key].item() > 0, key

    # The CWD term by hand: softmax over H*W of every channel of the adapted student / the teacher FPN maps.
    with torch.no_grad():
        s_fpn = model.student.extract_feat(data['inputs'])
        t_fpn = model.teacher.extract_feat(data['inputs'])
        expected = 0
        for adapter, s, t in zip(model.adapters['loss_cwd'], s_fpn, t_fpn):
            s, t = adapter(s).flatten(2), t.flatten(2)
            p_t = t.softmax(-1)
            expected += (p_t * (p_t.log() - s.log_softmax(-1))).sum() / (s.shape[0] * s.shape[1])
    torch.testing.assert_close(losses['loss_cwd'].detach(), expected, rtol=1e-4, atol=1e-6)


def test_predict_and_tensor_outputs_are_the_students(retina_wrapper):
    model = retina_wrapper.eval()
    plain = MODELS.build(ConfigDict(student_model())).eval()
    plain.load_state_dict(model.student.state_dict())
    data = batch(model, training=False)
    with torch.no_grad():
        ours = model(**data, mode='predict')
        theirs = plain(**copy.deepcopy(data), mode='predict')
        for a, b in zip(model(data['inputs'], mode='tensor'), plain(data['inputs'], mode='tensor')):
            for x, y in zip(a, b):
                assert torch.equal(x, y)
    for a, b in zip(ours, theirs):
        assert len(a.pred_instances) > 0
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)
        assert torch.equal(a.pred_instances.labels, b.pred_instances.labels)


def test_copies_share_the_teacher(retina_wrapper):
    """mmengine's EMAHook deep-copies the model: the student is copied, the frozen teacher is not duplicated."""
    copied = copy.deepcopy(retina_wrapper)
    assert copied.teacher is retina_wrapper.teacher
    assert copied.student is not retina_wrapper.student
    for a, b in zip(copied.parameters(), retina_wrapper.parameters()):
        assert a is not b and torch.equal(a, b)
    assert copied.data_preprocessor is copied.student.data_preprocessor


def test_to_moves_the_teacher(tmp_path):
    model = build_wrapper(tmp_path, distill_losses=dict(loss_kd=dict(type='LogitKDLoss')))
    model.to(torch.float64)
    assert all(p.dtype == torch.float64 for p in model.teacher.parameters())
    assert model.teacher.data_preprocessor.mean.dtype == torch.float64
    model.float()
    assert all(p.dtype == torch.float32 for p in model.teacher.parameters())


def test_teacher_sees_its_own_normalisation(tmp_path):
    """An RTMDet-style teacher (BGR mean/std, no channel swap) gets what its own preprocessor would give."""
    model = build_wrapper(tmp_path, teacher=teacher_model(preprocessor=BGR_PREPROCESSOR),
                          distill_losses=dict(loss_pkd=dict(type='PKDLoss')))
    packed = demo_mm_inputs(batch_size=2, image_shapes=(3, 64, 64), num_classes=NUM_CLASSES)
    student_inputs = model.data_preprocessor(copy.deepcopy(packed), False)['inputs']
    teacher_inputs = model.teacher.data_preprocessor(copy.deepcopy(packed), False)['inputs']
    assert not torch.allclose(student_inputs, teacher_inputs, atol=1e-3)
    torch.testing.assert_close(model.teacher_inputs(student_inputs), teacher_inputs, rtol=1e-5, atol=1e-4)


def test_gfl_pair_with_localisation_and_logit_distillation(tmp_path):
    losses = dict(loss_ld=dict(type='LDLoss', T=10, loss_weight=0.25),
                  loss_kd_cls=dict(type='LogitKDLoss', activation='sigmoid'))
    model = build_wrapper(tmp_path, kind='GFL', distill_losses=losses).train()
    assert len(model.adapters) == 0  # head losses need no adapter
    data = batch(model)
    out = model.loss(data['inputs'], data['data_samples'])
    assert {'loss_cls', 'loss_bbox', 'loss_dfl', 'loss_ld', 'loss_kd_cls'} <= set(out)

    # LD by hand: every box side's 5-bin distribution, KL at T=10 averaged over bins times T^2, weighted by the
    # teacher's highest class probability at that location.
    with torch.no_grad():
        s_cls, s_box = model.student.bbox_head(model.student.extract_feat(data['inputs']))
        t_cls, t_box = model.teacher.bbox_head(model.teacher.extract_feat(data['inputs']))
        rows = lambda levels, k: torch.cat([x.permute(0, 2, 3, 1).reshape(-1, k) for x in levels])  # noqa: E731
        s, t = rows(s_box, 5) / 10, rows(t_box, 5) / 10
        per_side = (t.softmax(1) * (t.log_softmax(1) - s.log_softmax(1))).mean(1) * 100
        weight = rows(t_cls, NUM_CLASSES).sigmoid().max(1).values.repeat_interleave(4)
        expected = 0.25 * (weight * per_side).sum() / weight.sum()
    torch.testing.assert_close(out['loss_ld'].detach(), expected, rtol=1e-4, atol=1e-7)

    out['loss_ld'].backward()
    assert model.student.bbox_head.gfl_reg.weight.grad.abs().sum() > 0
    assert model.student.bbox_head.gfl_cls.weight.grad is None  # LD touches only the box branch


def test_mismatches_fail_at_construction_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match='feature levels'):
        build_wrapper(tmp_path, teacher=teacher_model(num_outs=4), distill_losses=dict(loss_pkd=dict(type='PKDLoss')))
    with pytest.raises(ValueError, match='same strides, priors per location and classes'):
        build_wrapper(tmp_path, teacher=teacher_model(num_classes=5),
                      distill_losses=dict(loss_kd=dict(type='LogitKDLoss')))
    with pytest.raises(ValueError, match='GFL-type heads'):
        build_wrapper(tmp_path, distill_losses=dict(loss_ld=dict(type='LDLoss')))
    with pytest.raises(ValueError, match='must contain "loss"'):
        build_wrapper(tmp_path, distill_losses=dict(pkd=dict(type='PKDLoss')))
    with pytest.raises(TypeError, match='not a ghostdet distillation loss'):
        build_wrapper(tmp_path, distill_losses=dict(loss_l1=dict(type='L1Loss')))


def test_teacher_checkpoint_must_exist_and_fit(tmp_path):
    def build(checkpoint):
        return DistillationDetector(student=student_model(),
                                    teacher=dict(config=dict(model=teacher_model()), checkpoint=checkpoint),
                                    distill_losses=dict(loss_pkd=dict(type='PKDLoss')))

    with pytest.raises(FileNotFoundError, match="teacher checkpoint .*missing.pth' does not exist"):
        build(str(tmp_path / 'missing.pth'))
    with pytest.raises(ValueError, match='checkpoint is required'):
        build(None)
    save_teacher(student_model(), tmp_path / 'student.pth')  # a checkpoint of another architecture
    with pytest.raises(CheckpointMismatchError, match='nothing was loaded'):
        build(str(tmp_path / 'student.pth'))
    save_teacher(teacher_model(num_classes=5), tmp_path / 'other_classes.pth')
    with pytest.raises(CheckpointMismatchError, match='shape mismatches'):
        build(str(tmp_path / 'other_classes.pth'))


def test_teacher_config_from_an_mmdet_package_path(tmp_path):
    model = load_teacher_model_config('mmdet::retinanet/retinanet_r50_fpn_1x_coco.py')
    assert model.type == 'RetinaNet' and model.backbone.depth == 50 and model.bbox_head.num_classes == 80

    # A teacher config file that inherits mmdet's RetinaNet through `mmdet::` (shrunk to stay fast).
    (tmp_path / 'teacher.py').write_text(f"""
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(depth=18, base_channels=8, out_indices=(1, 2, 3), init_cfg=None),
    neck=dict(in_channels=[16, 32, 64], out_channels=16, start_level=0, num_outs=3),
    bbox_head=dict(num_classes={NUM_CLASSES}, in_channels=16, feat_channels=16, stacked_convs=1,
                   anchor_generator=dict(strides=[8, 16, 32])))
""")
    save_teacher(Config.fromfile(str(tmp_path / 'teacher.py')).model, tmp_path / 'teacher.pth')
    student = student_model()
    student['bbox_head']['anchor_generator'] = dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                                                    ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32])
    model = DistillationDetector(student=student,
                                 teacher=dict(config=str(tmp_path / 'teacher.py'),
                                              checkpoint=str(tmp_path / 'teacher.pth')),
                                 distill_losses=dict(loss_kd=dict(type='LogitKDLoss'), loss_pkd=dict(type='PKDLoss')))
    assert type(model.teacher.backbone).__name__ == 'ResNet' and model.teacher.backbone.depth == 18
    data = batch(model)
    losses = model.train().loss(data['inputs'], data['data_samples'])
    assert losses['loss_kd'].item() > 0 and losses['loss_pkd'].item() > 0


def test_example_config_pairs_mmdet_retinanet_r50_teacher_with_r18_student():
    config = Config.fromfile(str(REPO / 'configs/distill/retinanet_r50-to-r18_pkd-kd_fpn_1x_coco.py'))
    assert config.model.type == 'DistillationDetector' and 'ghostdet' in config.custom_imports.imports
    student, teacher = config.model.student, load_teacher_model_config(config.model.teacher.config)
    assert (student.backbone.depth, teacher.backbone.depth) == (18, 50)
    # What the losses pair: the same FPN levels and widths, the same anchors and classes per location.
    assert student.neck.out_channels == teacher.neck.out_channels and student.neck.num_outs == teacher.neck.num_outs
    assert student.bbox_head.anchor_generator == teacher.bbox_head.anchor_generator
    assert student.bbox_head.num_classes == teacher.bbox_head.num_classes
    assert {cfg.type for cfg in config.model.distill_losses.values()} == {'PKDLoss', 'LogitKDLoss'}
