"""Distillation losses against independent numpy computations of their published formulas; zero exactly when
the student matches the teacher, positive otherwise; weights and warm-up."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.logging import MessageHub

import ghostdet  # noqa: F401
from ghostdet.models.losses import CWDLoss, LDLoss, LogitKDLoss, PKDLoss


def rng_tensor(*shape, seed=0, scale=1.0):
    return torch.from_numpy(np.random.default_rng(seed).normal(size=shape) * scale).float()


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.fixture(autouse=True)
def fresh_message_hub(request):
    """A message hub without runner info, so warm-ups count their own calls unless a test sets 'iter'."""
    return MessageHub.get_instance(f'distill-loss-test-{request.node.name}')


@pytest.mark.parametrize('cfg', [dict(type='LogitKDLoss'), dict(type='LDLoss'), dict(type='CWDLoss'),
                                 dict(type='PKDLoss', source='backbone')])
def test_registered_in_mmdet(cfg):
    loss = MODELS.build(cfg)
    assert type(loss).__name__ == cfg['type'] and loss.loss_weight == 1.0 and loss.warmup_iters == 0


# --- logit distillation --------------------------------------------------------------------------------------
def test_logit_kd_defaults_are_the_ghostnetv3_recipe():
    loss = LogitKDLoss()
    assert (loss.T, loss.loss_weight, loss.activation, loss.source) == (1.0, 1.0, 'softmax', 'cls_score')


@pytest.mark.parametrize('T', [1.0, 2.0])
def test_logit_kd_softmax_against_numpy(T):
    s, t = rng_tensor(6, 4, seed=1), rng_tensor(6, 4, seed=2, scale=2)
    p_t, p_s = np_softmax(t.numpy() / T, 1), np_softmax(s.numpy() / T, 1)
    expected = T ** 2 * np.mean(np.sum(p_t * (np.log(p_t) - np.log(p_s)), axis=1))
    assert LogitKDLoss(T=T, loss_weight=0.5)(s, t).item() == pytest.approx(0.5 * expected, rel=1e-5)


def test_logit_kd_has_the_gradient_of_soft_target_cross_entropy():
    """The recipe's loss is -sum p_teacher log softmax(student) (T = 1): same gradient as our KL."""
    s, t = rng_tensor(5, 7, seed=3).requires_grad_(), rng_tensor(5, 7, seed=4)
    LogitKDLoss()(s, t).backward()
    ours = s.grad.clone()
    s.grad = None
    (-(t.softmax(1) * s.log_softmax(1)).sum(1).mean()).backward()
    torch.testing.assert_close(ours, s.grad)


def test_logit_kd_sigmoid_against_numpy():
    s, t, T = rng_tensor(6, 3, seed=5), rng_tensor(6, 3, seed=6, scale=3), 2.0
    p_t, p_s = 1 / (1 + np.exp(-t.numpy() / T)), 1 / (1 + np.exp(-s.numpy() / T))
    kl = p_t * np.log(p_t / p_s) + (1 - p_t) * np.log((1 - p_t) / (1 - p_s))
    expected = T ** 2 * kl.sum(1).mean()
    assert LogitKDLoss(T=T, activation='sigmoid')(s, t).item() == pytest.approx(expected, rel=1e-5)


# --- localisation distillation -------------------------------------------------------------------------------
def test_ld_against_numpy_weighted_mean_of_mmdet_kd_rows():
    s, t, w = rng_tensor(8, 5, seed=7), rng_tensor(8, 5, seed=8, scale=4), torch.rand(8)
    T = 10
    p_t, p_s = np_softmax(t.numpy() / T, 1), np_softmax(s.numpy() / T, 1)
    per_row = np.mean(p_t * (np.log(p_t) - np.log(p_s)), axis=1) * T * T  # mmdet: mean over bins, x T^2
    expected = (w.numpy() * per_row).sum() / w.numpy().sum()
    assert LDLoss(T=T, loss_weight=0.25)(s, t, w).item() == pytest.approx(0.25 * expected, rel=1e-5)
    assert LDLoss(T=T)(s, t).item() == pytest.approx(per_row.mean(), rel=1e-5)


# --- feature distillation ------------------------------------------------------------------------------------
def test_cwd_against_numpy():
    levels = [(2, 3, 4, 5), (2, 3, 2, 3)]
    s = [rng_tensor(*shape, seed=10 + i) for i, shape in enumerate(levels)]
    t = [rng_tensor(*shape, seed=20 + i, scale=2) for i, shape in enumerate(levels)]
    tau = 2.0
    expected = 0
    for a, b in zip(s, t):
        n, c = a.shape[:2]
        p_s = np_softmax(a.numpy().reshape(n, c, -1) / tau, 2)
        p_t = np_softmax(b.numpy().reshape(n, c, -1) / tau, 2)
        expected += tau ** 2 * np.sum(p_t * np.log(p_t / p_s)) / (n * c)
    assert CWDLoss(tau=tau)(s, t).item() == pytest.approx(expected, rel=1e-5)


def test_pkd_is_one_minus_pearson_correlation_per_channel():
    levels = [(2, 4, 6, 6), (2, 4, 3, 3)]
    s = [rng_tensor(*shape, seed=30 + i) for i, shape in enumerate(levels)]
    t = [rng_tensor(*shape, seed=40 + i) + 0.5 * a for i, (shape, a) in enumerate(zip(levels, s))]
    expected = 0
    for a, b in zip(s, t):
        a = a.numpy().transpose(1, 0, 2, 3).reshape(a.shape[1], -1)
        b = b.numpy().transpose(1, 0, 2, 3).reshape(b.shape[1], -1)
        expected += np.mean([1 - np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)])
    assert PKDLoss()(s, t).item() == pytest.approx(expected, rel=1e-4)


def test_pkd_ignores_per_channel_scale_and_shift_and_resizes_the_student():
    t = rng_tensor(2, 3, 8, 8, seed=50)
    scale = torch.tensor([0.1, 3.0, 40.0]).view(1, 3, 1, 1)
    assert PKDLoss()(t * scale + 7.0, t).item() == pytest.approx(0, abs=1e-5)
    # A student map at half the resolution is upsampled (bilinear) to the teacher's size first.
    small = rng_tensor(2, 3, 4, 4, seed=51)
    upsampled = F.interpolate(small, size=(8, 8), mode='bilinear', align_corners=False)
    assert PKDLoss()(small, upsampled).item() == pytest.approx(0, abs=1e-5)
    assert PKDLoss()(small, t).item() > 0.5


# --- every loss: zero at imitation, positive otherwise ------------------------------------------------------
@pytest.mark.parametrize('loss, shape', [
    (LogitKDLoss(), (10, 4)), (LogitKDLoss(T=3, activation='sigmoid'), (10, 4)), (LDLoss(), (12, 5)),
    (CWDLoss(), (2, 4, 5, 5)), (PKDLoss(), (2, 4, 5, 5))])
def test_zero_when_student_equals_teacher_and_positive_otherwise(loss, shape):
    t = rng_tensor(*shape, seed=60, scale=2)
    s = rng_tensor(*shape, seed=61, scale=2)
    assert loss(t.clone(), t).item() == pytest.approx(0, abs=1e-5)
    assert loss(s, t).item() > 1e-3


@pytest.mark.parametrize('loss', [LogitKDLoss(), CWDLoss(), PKDLoss()])
def test_teacher_gets_no_gradient(loss):
    shape = (3, 4) if isinstance(loss, LogitKDLoss) else (2, 3, 4, 4)
    s, t = rng_tensor(*shape, seed=70).requires_grad_(), rng_tensor(*shape, seed=71).requires_grad_()
    loss(s, t).backward()
    assert t.grad is None and s.grad.abs().sum() > 0


def test_mismatched_inputs_fail_clearly():
    with pytest.raises(ValueError, match='same N and C'):
        PKDLoss()([torch.zeros(1, 4, 4, 4)], [torch.zeros(1, 8, 4, 4)])
    with pytest.raises(ValueError, match='feature levels'):
        CWDLoss()([torch.zeros(1, 4, 4, 4)] * 2, [torch.zeros(1, 4, 4, 4)])
    with pytest.raises(ValueError, match='use PKDLoss'):
        CWDLoss()(torch.zeros(1, 4, 4, 4), torch.zeros(1, 4, 2, 2))
    with pytest.raises(ValueError, match='same shape'):
        LogitKDLoss()(torch.zeros(4, 3), torch.zeros(4, 5))
    with pytest.raises(ValueError, match="source must be one of"):
        PKDLoss(source='bbox_head')


# --- weights and warm-up -------------------------------------------------------------------------------------
def test_linear_warmup_follows_the_runner_iteration(fresh_message_hub):
    s, t = rng_tensor(2, 3, 4, 4, seed=80), rng_tensor(2, 3, 4, 4, seed=81)
    full = PKDLoss(loss_weight=4.0)(s, t).item()
    loss = PKDLoss(loss_weight=4.0, warmup_iters=10)
    for it, factor in [(0, 0.1), (4, 0.5), (9, 1.0), (50, 1.0)]:
        fresh_message_hub.update_info('iter', it)
        assert loss(s, t).item() == pytest.approx(factor * full, rel=1e-5)


def test_warmup_counts_its_own_training_calls_without_a_runner():
    s, t = rng_tensor(6, 4, seed=82), rng_tensor(6, 4, seed=83)
    full = LogitKDLoss()(s, t).item()
    loss = LogitKDLoss(warmup_iters=4)
    assert [round(loss(s, t).item() / full, 4) for _ in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    loss.eval()
    loss._calls = 0
    assert [round(loss(s, t).item() / full, 4) for _ in range(2)] == [0.25, 0.25]  # evaluation does not count
