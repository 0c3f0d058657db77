"""The same models on CUDA: backbones equal their CPU outputs in both forms, a detector trains and predicts, a
distilled detector moves its teacher along. Skipped where torch sees no GPU (CI); run on a GPU machine with
``pytest tests/test_cuda.py``."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules

import ghostdet  # noqa: F401
from ghostdet.models import switch_detector_to_deploy
from ghostdet.testing import assert_close, build_backbone, randomise_batch_norms

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')

BACKBONES = [
    dict(type='GhostNet', widen_factor=0.5),
    dict(type='GhostNetV2', widen_factor=1.0),
    dict(type='GhostNetV3', widen_factor=0.5),
    dict(type='ShuffleNetV1', groups=3, widen_factor=0.5),
    dict(type='ShuffleNetV2', widen_factor=0.5),
]


@pytest.fixture(autouse=True)
def full_precision_convs():
    """cuDNN's TF32 convs round to 10-bit mantissas; compare in true fp32."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    register_all_modules()
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.mark.parametrize('config', BACKBONES, ids=lambda c: c['type'])
@torch.no_grad()
def test_backbone_on_cuda_equals_cpu_in_both_forms(config):
    torch.manual_seed(0)
    model = randomise_batch_norms(build_backbone(**config, out_indices=None))
    x = torch.randn(2, 3, 97, 130)  # odd sizes: the DFC gate's upsampling and every padding path
    cpu_out = model(x)
    cuda_model = copy.deepcopy(model).cuda()
    assert_close(cuda_model(x.cuda()), cpu_out, rtol=1e-4, min_scale=1.0)
    cuda_model.switch_to_deploy()
    assert_close(cuda_model(x.cuda()), cpu_out, rtol=1e-4, min_scale=1.0)


@pytest.mark.parametrize('config', BACKBONES, ids=lambda c: c['type'])
def test_backbone_trains_on_cuda(config):
    torch.manual_seed(0)
    num_levels = len(build_backbone(**config).level_channels)
    model = build_backbone(**config, out_indices=tuple(range(num_levels))).cuda().train()  # every level used
    loss = sum(level.square().mean() for level in model(torch.randn(2, 3, 64, 64, device='cuda')))
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def tiny_detector_cfg(make_tiny_config, synthetic_coco, tmp_path):
    """The model of the GhostNet tree config shrunk for tests (GhostNet 0.5x, 32 channels, 3 classes)."""
    return Config.fromfile(str(make_tiny_config(tmp_path / 'tiny.py', synthetic_coco))).model


def test_detector_trains_predicts_and_deploys_on_cuda(make_tiny_config, synthetic_coco, tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(tiny_detector_cfg(make_tiny_config, synthetic_coco, tmp_path)).cuda()
    model.init_weights()
    model.train()
    data = model.data_preprocessor(demo_mm_inputs(2, [(3, 64, 96)] * 2, num_items=[3, 2], num_classes=3), True)
    assert data['inputs'].is_cuda
    loss, log_vars = model.parse_losses(model(**data, mode='loss'))
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values()), log_vars
    loss.backward()

    model.eval()
    randomise_batch_norms(model)
    test_data = model.data_preprocessor(demo_mm_inputs(1, [(3, 64, 96)], num_classes=3), False)
    with torch.no_grad():
        before = model(**test_data, mode='tensor')
        (prediction, ) = model(**test_data, mode='predict')
        switch_detector_to_deploy(model)
        after = model(**test_data, mode='tensor')
    assert prediction.pred_instances.bboxes.is_cuda
    for b, a in zip(before, after):
        assert_close(a, b, rtol=1e-3, min_scale=1.0)


def test_distillation_detector_moves_its_teacher_to_cuda(make_tiny_config, synthetic_coco, tmp_path):
    torch.manual_seed(0)
    teacher_cfg = tiny_detector_cfg(make_tiny_config, synthetic_coco, tmp_path)
    teacher_cfg.neck.out_channels = teacher_cfg.bbox_head.in_channels = teacher_cfg.bbox_head.feat_channels = 48
    teacher = MODELS.build(teacher_cfg)
    checkpoint = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), checkpoint)
    wrapper = MODELS.build(dict(
        type='DistillationDetector',
        student=tiny_detector_cfg(make_tiny_config, synthetic_coco, tmp_path),
        teacher=dict(config=dict(model=teacher_cfg), checkpoint=str(checkpoint)),
        distill_losses=dict(loss_pkd=dict(type='PKDLoss', loss_weight=1.0),
                            loss_kd=dict(type='LogitKDLoss', activation='sigmoid')))).cuda()
    assert all(p.is_cuda for p in wrapper.teacher.parameters())
    wrapper.train()
    data = wrapper.data_preprocessor(demo_mm_inputs(2, [(3, 64, 96)] * 2, num_items=[3, 2], num_classes=3), True)
    losses = wrapper(**data, mode='loss')
    assert losses['loss_pkd'].is_cuda and torch.isfinite(losses['loss_pkd']) and losses['loss_kd'] > 0
    wrapper.parse_losses(losses)[0].backward()
    assert all(p.grad is None for p in wrapper.teacher.parameters())
    assert all(p.grad is not None for p in wrapper.adapters.parameters())
