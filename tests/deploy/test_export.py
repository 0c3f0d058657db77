"""Exported detectors equal PyTorch: mmdet's own forward and ``predict`` on the same input are the reference.

Every exported head family (RTMDet, YOLOv3, SSDLite, RetinaNet, GFL) on GhostNet, RTMDet-lite on every other
backbone, and both tree detectors (GhostNet; ShuffleNetV1 g3, the main job); tiny inputs, random weights with
non-trivial BatchNorms and head outputs spread over the whole score range (so the top-k, thresholds and NMS all act).
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmdet.structures import DetDataSample
from torchvision.ops import box_iou

import ghostdet  # noqa: F401
from ghostdet.deploy import ExportedDetector, export_detector
from ghostdet.deploy.end2end import End2EndDetector
from ghostdet.deploy.export import build_inference_model, export_onnx
from ghostdet.deploy.preprocess import img_shapes, to_data_sample
from ghostdet.deploy.runtimes import RUNTIMES
from ghostdet.testing import build_without_pretrained, randomise_batch_norms

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
RUNTIME_NAMES = ('onnxruntime', 'openvino')
# (config, input H, W): one per head family on GhostNet, one head (RTMDet-lite) per other backbone, the tree detectors.
CASES = [
    ('ghostnet/rtmdet-lite_ghostnet-1.0x_8xb32-320-300e_coco.py', (64, 96)),
    ('ghostnet/yolov3_ghostnet-1.0x_8xb24-320-300e_coco.py', (64, 64)),
    ('ghostnet/ssdlite_ghostnet-1.0x_8xb24-600e_coco.py', (128, 128)),
    ('ghostnet/retinanet_ghostnet-1.0x_fpn_1x_coco.py', (160, 192)),  # anchors of 32-512 px
    ('ghostnet/gfl_ghostnet-1.0x_fpn_1x_coco.py', (160, 160)),
    ('ghostnetv2/rtmdet-lite_ghostnetv2-1.0x_8xb32-320-300e_coco.py', (64, 64)),
    # GhostNetV3 as deployed: its fused form (tools/model_converters/convert_to_deploy.py writes such checkpoints);
    # random training-form branches sum to ill-conditioned fused weights no trained network has
    ('ghostnetv3/rtmdet-lite_ghostnetv3-1.0x_8xb32-320-300e_coco.py', (64, 64)),
    ('shufflenetv1/rtmdet-lite_shufflenetv1-g3-1.0x_8xb32-320-300e_coco.py', (64, 64)),
    ('shufflenetv2/rtmdet-lite_shufflenetv2-1.0x_8xb32-320-300e_coco.py', (64, 64)),
    ('trees/rtmdet-pafpn64_ghostnet-1.0x_trees.py', (64, 64)),
    ('trees/rtmdet-pafpn64_shufflenetv1-g3-1.0x_trees.py', (64, 64)),  # make demo's detector
]


def load_cfg(config: str, num_classes: int = 3) -> Config:
    cfg = Config.fromfile(str(CONFIGS / config))
    cfg.model.bbox_head.num_classes = num_classes
    if cfg.model.backbone.type == 'GhostNetV3':
        cfg.model.backbone.deploy = True
    return cfg


@torch.no_grad()
def random_checkpoint(cfg: Config, path: Path, seed: int = 0) -> Path:
    """Random weights saved as an mmengine-style checkpoint: random BN statistics everywhere; every head conv
    rescaled (in forward order, on a random image) to outputs of root mean square 1 and, where it has a bias, a
    random offset, so scores spread over (0, 1) and boxes over the image."""
    torch.manual_seed(seed)
    model = randomise_batch_norms(build_without_pretrained(cfg.copy()), seed).eval()

    scaled = set()

    def unit_scale(conv, inputs, output):  # per output channel: root mean square 1, plus a random offset
        if conv in scaled:  # a conv shared by all levels: scaled on the first (largest) one
            return None
        scaled.add(conv)
        linear = output - (conv.bias.view(1, -1, 1, 1) if conv.bias is not None else 0)
        rms = linear.square().mean((0, 2, 3)).sqrt().clamp(min=1e-6)
        conv.weight.div_(rms.view(-1, *[1] * (conv.weight.dim() - 1)))
        if conv.bias is not None:
            conv.bias.copy_(torch.randn_like(rms) * 0.5)
        return conv._conv_forward(inputs[0], conv.weight, conv.bias)
    hooks = [m.register_forward_hook(unit_scale) for m in model.bbox_head.modules() if isinstance(m, nn.Conv2d)]
    model.bbox_head(model.extract_feat(torch.randn(1, 3, 128, 128)))
    for hook in hooks:
        hook.remove()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def reference_model(cfg: Config, checkpoint: Path) -> nn.Module:
    """The network the graph is traced from, in PyTorch: the detector with the checkpoint's weights in its inference
    form (re-parameterised, BN folded; that this form equals the training form is tests/models/test_deploy.py's)."""
    return build_inference_model(cfg, checkpoint)[0]


def assert_same_detections(ours, ref, what=''):
    """Box for box: same count, and a one-to-one pairing with IoU >= 0.99, the same label, scores within 1e-4."""
    assert len(ours.scores) == len(ref.scores), f'{what}: {len(ours.scores)} vs {len(ref.scores)} detections'
    if not len(ref.scores):
        return
    iou = box_iou(ours.bboxes.float(), ref.bboxes.float())
    match = (iou >= 0.99) & (ours.labels[:, None] == ref.labels[None]) & \
        ((ours.scores[:, None] - ref.scores[None]).abs() <= 1e-4)
    used = torch.zeros(len(ours.scores), dtype=torch.bool)
    for j in range(len(ref.scores)):
        candidates = torch.nonzero(match[:, j] & ~used).view(-1)
        assert len(candidates), f'{what}: PyTorch detection {j} ({ref.bboxes[j].tolist()}, label ' \
                                f'{int(ref.labels[j])}, score {float(ref.scores[j]):.5f}) has no exported match'
        used[candidates[0]] = True


def padded_input(shape, inner, seed):
    """A random normalised input of ``shape`` and the metainfo mmdet gives it when its image fills only ``inner``
    (h, w) and the rest is padding. (The padding stays random: zero rows make these random-weight networks
    ill-conditioned there, and what is tested is where boxes are clipped.)"""
    image = torch.randn(1, 3, *shape, generator=torch.Generator().manual_seed(seed))
    meta = dict(img_shape=inner, ori_shape=inner, scale_factor=(1.0, 1.0), batch_input_shape=shape, pad_shape=shape)
    return image, meta


def mmdet_predict(model, image, meta):
    with torch.no_grad():
        return model.predict(image, [DetDataSample(metainfo=meta)], rescale=True)[0].pred_instances


@pytest.mark.parametrize('config,shape', CASES, ids=[c.split('/')[-1].split('_8x')[0] for c, _ in CASES])
def test_export_matches_pytorch(config, shape, tmp_path):
    """The image fills only part of the input (a tile padded to the static export size), so boxes are clipped to
    it before NMS, as mmdet clips to ``img_shape``."""
    cfg = load_cfg(config)
    checkpoint = random_checkpoint(cfg, tmp_path / 'weights.pth')
    reference = reference_model(cfg, checkpoint)
    inner = (shape[0] * 3 // 4, shape[1] - 8)
    image, meta = padded_input(shape, inner, seed=1)
    with torch.no_grad():
        raw_ref = [t.numpy() for maps in reference.bbox_head(reference.extract_feat(image)) for t in maps]
    ref = mmdet_predict(reference, image, meta)
    assert len(ref.scores) > 10, 'the random head should give many detections'

    # One graph with the detections and the raw head maps as outputs, run by both runtimes through
    # ExportedDetector's post-processing: raw maps within 1e-4 of PyTorch relative to each map's scale, detections
    # box for box against mmdet's predict.
    export_onnx(End2EndDetector(reference, shape, outputs='both'), tmp_path / 'both.onnx', shape)
    for runtime in RUNTIME_NAMES:
        dets, labels, *maps = RUNTIMES[runtime](tmp_path / 'both.onnx', threads=1)(image.numpy(),
                                                                                   img_shapes([meta]))
        assert len(maps) == len(raw_ref)
        for out, expected in zip(maps, raw_ref):
            np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max(),
                                       err_msg=f'{runtime} raw output')
        assert_same_detections(to_data_sample(dets[0], labels[0], meta).pred_instances, ref, runtime)


def test_export_folder_runs_on_both_runtimes(tmp_path):
    """The user's path: export_detector's folder (ONNX + IR) through ExportedDetector on either runtime gives
    mmdet's detections for a padded image; runtime code that feeds ``input`` alone (mmdeploy's convention) runs the
    ONNX graph too, clipping to the whole input."""
    cfg = load_cfg('ghostnet/rtmdet-lite_ghostnet-1.0x_8xb32-320-300e_coco.py')
    checkpoint = random_checkpoint(cfg, tmp_path / 'weights.pth')
    reference = reference_model(cfg, checkpoint)
    image, meta = padded_input((64, 64), (40, 56), seed=2)
    out_dir = export_detector(cfg, checkpoint, tmp_path / 'export', shape=(64, 64), backend='openvino')
    assert sorted(p.name for p in out_dir.iterdir()) == ['deploy.json', 'end2end.bin', 'end2end.onnx', 'end2end.xml']
    ref = mmdet_predict(reference, image, meta)
    for runtime in RUNTIME_NAMES:
        ours = ExportedDetector(out_dir, backend=runtime, threads=1).run(image.numpy(), [meta])[0].pred_instances
        assert_same_detections(ours, ref, runtime)

    # a folder exported for ONNX Runtime (no IR) run by OpenVINO from its ONNX graph: img_shape stays an input
    onnx_only = export_detector(cfg, checkpoint, tmp_path / 'onnx_only', shape=(64, 64))
    ours = ExportedDetector(onnx_only, backend='openvino', threads=1).run(image.numpy(), [meta])[0].pred_instances
    assert_same_detections(ours, ref, 'openvino from ONNX')

    import onnxruntime
    session = onnxruntime.InferenceSession(str(out_dir / 'end2end.onnx'), providers=['CPUExecutionProvider'])
    assert [i.name for i in session.get_inputs()] == ['input']
    dets, labels = session.run(None, {'input': image.numpy()})
    whole = dict(meta, img_shape=(64, 64), ori_shape=(64, 64))
    assert_same_detections(to_data_sample(dets[0], labels[0], whole).pred_instances,
                           mmdet_predict(reference, image, whole), 'input alone')


def test_deploy_json_describes_the_model(tmp_path):
    cfg = load_cfg('trees/rtmdet-pafpn64_ghostnet-1.0x_trees.py', num_classes=1)
    checkpoint = random_checkpoint(cfg, tmp_path / 'weights.pth')
    info = json.loads((export_detector(cfg, checkpoint, tmp_path / 'out', shape=(64, 64)) / 'deploy.json').read_text())
    pre = cfg.model.data_preprocessor
    assert info['input_shape'] == [64, 64] and info['input_name'] == 'input'
    assert info['input_names'] == ['input', 'img_shape']
    assert info['output_names'] == ['dets', 'labels']
    assert info['mean'] == pytest.approx(pre.mean) and info['std'] == pytest.approx(pre.std)
    assert info['channel_order'] == 'rgb' and info['class_names'] == ['tree']
    assert info['test_cfg']['score_thr'] == cfg.model.test_cfg.score_thr
    assert info['test_cfg']['nms']['iou_threshold'] == cfg.model.test_cfg.nms.iou_threshold
    assert set(info['versions']) >= {'ghostdet', 'torch', 'onnx', 'onnxruntime', 'mmdet'}
    assert info['pipeline'][0]['type'] == 'mmdet.LoadImageFromNDArray'
    assert not any('LoadAnnotations' in step['type'] for step in info['pipeline'])


def test_images_of_any_size_map_back_to_their_pixels(tmp_path):
    """A static 64x64 model on a 128x128 image (nearest 2x upscale of a 64x64 one) resizes it to fit and returns
    the small image's boxes doubled; an image smaller than the input is padded, not scaled."""
    cfg = load_cfg('trees/rtmdet-pafpn64_ghostnet-1.0x_trees.py', num_classes=1)
    checkpoint = random_checkpoint(cfg, tmp_path / 'weights.pth')
    detector = ExportedDetector(export_detector(cfg, checkpoint, tmp_path / 'out', shape=(64, 64)), threads=1)
    small = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    big = small.repeat(2, axis=0).repeat(2, axis=1)
    small_result, big_result = detector.predict([small, big])
    assert len(small_result.pred_instances) > 0
    assert big_result.metainfo['ori_shape'] == (128, 128)
    torch.testing.assert_close(big_result.pred_instances.bboxes, small_result.pred_instances.bboxes * 2)
    torch.testing.assert_close(big_result.pred_instances.scores, small_result.pred_instances.scores)

    narrow = small[:40]
    result = detector.predict([narrow])[0]
    assert result.metainfo['scale_factor'] == (1.0, 1.0)
    boxes = result.pred_instances.bboxes
    assert len(boxes) and (boxes[:, 1::2] <= 40).all() and (boxes >= 0).all()


@pytest.mark.parametrize('config', ['ghostnet/yolov3_ghostnet-1.0x_8xb24-320-300e_coco.py',
                                    'ghostnet/rtmdet-lite_ghostnet-1.0x_8xb32-320-300e_coco.py'],
                         ids=['yolov3', 'rtmdet-lite (img_shape input)'])
def test_dynamic_batch_equals_single_images(config, tmp_path):
    cfg = load_cfg(config)
    checkpoint = random_checkpoint(cfg, tmp_path / 'weights.pth')
    out_dir = export_detector(cfg, checkpoint, tmp_path / 'out', shape=(64, 64), dynamic_batch=True)
    batch = np.random.default_rng(0).standard_normal((3, 3, 64, 64)).astype(np.float32)
    shapes = np.array([[64, 64], [40, 64], [64, 24]], dtype=np.float32)
    session = RUNTIMES['onnxruntime'](out_dir / 'end2end.onnx', threads=1)
    for fed in (None, shapes):  # img_shape by default (the whole input), then each image's own
        dets, labels = session(batch, fed)
        assert dets.shape[0] == 3
        for i in range(3):
            single_dets, single_labels = session(batch[i:i + 1], None if fed is None else fed[i:i + 1])
            np.testing.assert_allclose(dets[i], single_dets[0], rtol=1e-5, atol=1e-4)
            np.testing.assert_array_equal(labels[i], single_labels[0])


@pytest.mark.parametrize('backend,precision', [('onnxruntime', 'int8'), ('openvino', 'int8'), ('openvino', 'bf16')])
def test_reduced_precision_exports_run_close_to_fp32(backend, precision, tmp_path):
    """int8 (QDQ graph calibrated on images) and bf16 (OpenVINO) exports run on their runtime."""
    cfg = load_cfg('trees/rtmdet-pafpn64_ghostnet-1.0x_trees.py', num_classes=1)
    checkpoint = random_checkpoint(cfg, tmp_path / 'weights.pth')
    images = tmp_path / 'calib'
    images.mkdir()
    rng = np.random.default_rng(0)
    import cv2
    for i in range(4):
        cv2.imwrite(str(images / f'{i}.png'), rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    fp32 = ExportedDetector(export_detector(cfg, checkpoint, tmp_path / 'fp32', shape=(64, 64)), threads=1)
    out_dir = export_detector(cfg, checkpoint, tmp_path / 'low', shape=(64, 64), backend=backend,
                              precision=precision, calib_images=images)
    info = json.loads((out_dir / 'deploy.json').read_text())
    assert info['precision'] == precision
    if precision == 'int8':
        import onnx
        ops = {node.op_type for node in onnx.load(str(out_dir / 'end2end.int8.onnx')).graph.node}
        assert {'QuantizeLinear', 'DequantizeLinear', 'NonMaxSuppression'} <= ops
        assert info['calibration']['images'] == 4
    low = ExportedDetector(out_dir, threads=1)
    image = cv2.imread(str(images / '0.png'))
    a, b = fp32.predict([image])[0].pred_instances, low.predict([image])[0].pred_instances
    assert len(b) > 0 and (b.bboxes >= 0).all() and (b.bboxes <= 64).all()
    if precision == 'bf16':  # int8's error on random weights says nothing; its AP on trees is in the README
        best = box_iou(b.bboxes, a.bboxes).max(1).values
        assert best.median() > 0.8, 'bf16 boxes should mostly sit where the fp32 ones are'
