"""PytorchDetector against mmdet's own inference API (init_detector + inference_detector), and build_detector."""
import cv2
import numpy as np
import pytest
import torch
from mmdet.apis import inference_detector, init_detector
from mmengine.config import Config

from ghostdet.inference import INFERENCE_BACKENDS, PytorchDetector, build_detector


def as_rows(pred):
    rows = torch.cat([pred.bboxes, pred.scores[:, None], pred.labels[:, None].float()], 1).numpy()
    return rows[np.lexsort(rows.T[::-1])]


@pytest.fixture(scope='module')
def images(synthetic_coco):
    return sorted((synthetic_coco / 'val').glob('*.png'))


def test_equals_mmdet_inference_detector(detector_files, images):
    config, checkpoint = detector_files.config, detector_files.checkpoint
    reference = init_detector(str(config), str(checkpoint), device='cpu')
    detector = PytorchDetector(config, checkpoint, deploy=False)
    assert detector.class_names == detector_files.classes
    # one batch of all images (read as arrays) against mmdet's own loader, image by image
    results = detector.predict([cv2.imread(str(p)) for p in images])
    for path, result in zip(images, results):
        expected = inference_detector(reference, str(path)).pred_instances
        assert len(expected) > 10
        assert result.ori_shape == cv2.imread(str(path)).shape[:2]
        np.testing.assert_allclose(as_rows(result.pred_instances), as_rows(expected), rtol=1e-5, atol=1e-4)


def test_inference_form_keeps_outputs(detector_files, images):
    config, checkpoint = detector_files.config, detector_files.checkpoint
    image = cv2.imread(str(images[0]))
    plain = PytorchDetector(config, checkpoint, deploy=False).predict([image])[0].pred_instances
    fused = PytorchDetector(config, checkpoint).predict([image])[0].pred_instances
    top = min(len(plain), len(fused), 50)  # compare the confident head of the list, robust to near-ties at the end
    np.testing.assert_allclose(fused.scores[:top], plain.scores[:top], atol=1e-4)
    np.testing.assert_allclose(fused.bboxes[:top], plain.bboxes[:top], atol=1e-2)


def test_class_names_from_config_without_checkpoint_meta(detector_files, tmp_path):
    config, checkpoint = detector_files.config, detector_files.checkpoint
    bare = tmp_path / 'bare.pth'
    torch.save(dict(state_dict=torch.load(checkpoint, weights_only=True)['state_dict']), bare)
    assert PytorchDetector(config, bare).class_names == detector_files.classes
    coco = Config.fromfile(config)
    coco.test_dataloader.dataset.metainfo = None  # CocoDataset's own 80 classes
    assert len(PytorchDetector(coco, bare).class_names) == 80


def test_wrong_checkpoint_is_an_error(detector_files, tmp_path):
    config, checkpoint = detector_files.config, detector_files.checkpoint
    state = torch.load(checkpoint, weights_only=True)['state_dict']
    state.pop(next(k for k in state if k.startswith('bbox_head.')))
    torch.save(dict(state_dict=state), tmp_path / 'partial.pth')
    with pytest.raises(RuntimeError, match='missing keys'):
        PytorchDetector(config, tmp_path / 'partial.pth')
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        PytorchDetector(config, tmp_path / 'nothing.pth')


def test_build_detector(detector_files):
    config, checkpoint = detector_files.config, detector_files.checkpoint
    assert INFERENCE_BACKENDS.get('pytorch') is PytorchDetector
    assert isinstance(build_detector(config=config, checkpoint=checkpoint), PytorchDetector)
    with pytest.raises(ValueError, match='takes a config and a checkpoint'):
        build_detector('pytorch', config=config)
    with pytest.raises(ValueError, match='export folder'):
        build_detector('pytorch', model_dir='export')
    with pytest.raises(KeyError, match='unknown inference backend'):
        build_detector('tensorrt', model_dir='export')
