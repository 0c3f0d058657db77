"""The ncnn backend equals PyTorch: the network through pnnx, decoding and NMS on the host with the graph's own
functions; mmdet's forward and ``predict`` on the same (padded) input are the reference."""
import json

import numpy as np
import pytest
import torch

from ghostdet.deploy import ExportedDetector, ExportError, export_detector
from ghostdet.deploy.runtimes import RUNTIMES
from test_export import (assert_same_detections, load_cfg, mmdet_predict, padded_input, random_checkpoint,
                         reference_model)

CASES = [  # a head that clips boxes to the image (RTMDet) and one that does not (YOLOv3)
    ('ghostnet/rtmdet-lite_ghostnet-1.0x_8xb32-320-300e_coco.py', (64, 96)),
    ('ghostnet/yolov3_ghostnet-1.0x_8xb24-320-300e_coco.py', (64, 64)),
]


@pytest.mark.parametrize('config,shape', CASES, ids=['rtmdet-lite', 'yolov3'])
def test_ncnn_matches_pytorch(config, shape, tmp_path):
    cfg = load_cfg(config)
    checkpoint = random_checkpoint(cfg, tmp_path / 'weights.pth')
    reference = reference_model(cfg, checkpoint)
    image, meta = padded_input(shape, (shape[0] * 3 // 4, shape[1] - 8), seed=3)
    out_dir = export_detector(cfg, checkpoint, tmp_path / 'export', shape=shape, backend='ncnn')
    info = json.loads((out_dir / 'deploy.json').read_text())
    assert info['files']['ncnn'] == 'end2end.ncnn.param' and (out_dir / 'end2end.ncnn.bin').is_file()
    assert not (out_dir / 'pnnx').exists(), 'pnnx intermediates stay out of the export folder'

    with torch.no_grad():
        raw_ref = [t.numpy() for maps in reference.bbox_head(reference.extract_feat(image)) for t in maps]
    raw = RUNTIMES['ncnn'](out_dir / 'end2end.ncnn.param', threads=1)(image.numpy())
    assert len(raw) == len(raw_ref)
    for out, expected in zip(raw, raw_ref):
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())

    ref = mmdet_predict(reference, image, meta)
    assert len(ref.scores) > 10
    ours = ExportedDetector(out_dir, backend='ncnn', threads=1).run(image.numpy(), [meta])[0].pred_instances
    assert_same_detections(ours, ref, 'ncnn')


def test_ncnn_is_fp32_only(tmp_path):
    cfg = load_cfg('ghostnet/rtmdet-lite_ghostnet-1.0x_8xb32-320-300e_coco.py')
    with pytest.raises(ExportError, match='ncnn2int8'):
        export_detector(cfg, None, tmp_path / 'out', shape=(64, 64), backend='ncnn', precision='int8')
    assert not (tmp_path / 'out').exists()


def test_folder_without_ncnn_model_names_the_export_option(tmp_path):
    cfg = load_cfg('ghostnet/rtmdet-lite_ghostnet-1.0x_8xb32-320-300e_coco.py')
    out_dir = export_detector(cfg, random_checkpoint(cfg, tmp_path / 'w.pth'), tmp_path / 'out', shape=(64, 64))
    with pytest.raises(ValueError, match='--backend ncnn'):
        ExportedDetector(out_dir, backend='ncnn')
