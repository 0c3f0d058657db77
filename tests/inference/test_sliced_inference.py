"""SlicedInference: tools/test.py evaluates a detector on full images by slicing, set from the config alone, with
exactly the predictions of the CLI's code path (SlicedPredictor around the same detector)."""
import pickle
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from ghostdet.inference import PytorchDetector, SlicedPredictor, SliceOptions

REPO = Path(__file__).resolve().parents[2]
OPTIONS = dict(slice_size=(48, 64), overlap=0.25, full_image_pass=True, merge='greedy_nmm', match_metric='ios',
               match_thr=0.5, score_thr=0.1, batch_size=3)


def sorted_rows(rows):
    return rows[np.lexsort(rows.T[::-1])]


def write_sliced_config(path, base_config, options):
    path.write_text(f"""
_base_ = [{str(base_config)!r}]
model = dict(_delete_=True, type='SlicedInference', detector=_base_.model, **{options!r})
test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True), dict(type='PackDetInputs')]))
""")
    return path


def test_tools_test_py_equals_cli_path(detector_files, tmp_path):
    config = write_sliced_config(tmp_path / 'sliced.py', detector_files.config, OPTIONS)
    result = subprocess.run([sys.executable, str(REPO / 'tools' / 'test.py'), str(config),
                             str(detector_files.checkpoint), '--work-dir', str(tmp_path / 'work'),
                             '--out', str(tmp_path / 'results.pkl')],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert 'coco/bbox_mAP' in result.stdout + result.stderr
    with open(tmp_path / 'results.pkl', 'rb') as f:  # written by this test
        results = pickle.load(f)
    # the CLI's path: the same detector (not in inference form, as tools/test.py runs it), same options
    predictor = SlicedPredictor(PytorchDetector(detector_files.config, detector_files.checkpoint, deploy=False),
                                SliceOptions(**OPTIONS))
    assert len(results) == 4
    for res in results:
        dets = predictor.predict(cv2.imread(res['img_path']))
        pred = res['pred_instances']
        got = np.c_[pred['bboxes'].numpy(), pred['scores'].numpy(), pred['labels'].numpy()]
        assert len(dets) > 5
        np.testing.assert_allclose(sorted_rows(got), sorted_rows(np.c_[dets.bboxes, dets.scores, dets.labels]),
                                   rtol=0, atol=1e-4)

def test_checkpoint_loads_into_the_wrapped_detector(detector_files, tmp_path):
    from mmengine.runner import load_checkpoint
    init_default_scope('mmdet')
    cfg = Config.fromfile(write_sliced_config(tmp_path / 'sliced.py', detector_files.config, OPTIONS))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, str(detector_files.checkpoint), strict=True)
    expected = torch.load(detector_files.checkpoint, weights_only=True)['state_dict']
    for key, value in model.module.state_dict().items():
        torch.testing.assert_close(value, expected[key])


def test_bad_options_fail_when_built(detector_files, tmp_path):
    init_default_scope('mmdet')
    cfg = Config.fromfile(write_sliced_config(tmp_path / 'sliced.py', detector_files.config,
                                              dict(OPTIONS, overlap=1.2)))
    with pytest.raises(ValueError, match='overlap must be in'):
        MODELS.build(cfg.model)
