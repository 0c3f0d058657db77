"""Pre- and post-processing around an exported graph, from its ``deploy.json`` alone (no config needed).

Pre-processing is the config's own test pipeline (stored in ``deploy.json``, fed arrays instead of files), then what
mmdet's ``DetDataPreprocessor`` does (channel order, mean/std, zero padding) into the model's static input. An image
the pipeline leaves larger than that input is first resized to fit it (keeping its aspect ratio). Post-processing
drops the unused rows of ``dets`` and maps boxes to the original image's pixels exactly as mmdet's
``predict(rescale=True)`` does; each image's ``img_shape`` goes into the graph, which clips boxes to it before NMS.
"""
from typing import Dict, List, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.structures import InstanceData
from mmdet.structures import DetDataSample


def as_config(value):
    """JSON lists back to the tuples mmcv / mmdet configs hold (``scale=(w, h)``, anchor sizes ...)."""
    if isinstance(value, dict):
        return {k: as_config(v) for k, v in value.items()}
    return tuple(as_config(v) for v in value) if isinstance(value, list) else value


class Preprocessor:
    """Images (BGR arrays or paths) -> the normalised input batch of an exported model and each image's metainfo.

    Args:
        info (dict): The ``deploy.json`` contents (``pipeline``, ``input_shape``, ``mean``, ``std``,
            ``channel_order``).
    """

    def __init__(self, info: Dict):
        self.pipeline = Compose([as_config(step) for step in info['pipeline']])
        self.input_shape = tuple(info['input_shape'])
        self.mean = np.asarray(info['mean'], dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(info['std'], dtype=np.float32).reshape(3, 1, 1)
        self.to_rgb = info['channel_order'] == 'rgb'

    def load(self, image: Union[np.ndarray, str], index: int = 0) -> Tuple[torch.Tensor, Dict]:
        """The test pipeline's output for one image: (3, h, w) uint8 BGR tensor and its metainfo."""
        if isinstance(image, str):
            path, image = image, cv2.imread(image, cv2.IMREAD_COLOR)
            if image is None:
                raise FileNotFoundError(f'cannot read image {path}')
        if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8):
            raise ValueError(f'expected an H x W x 3 uint8 BGR image, got '
                             f'{getattr(image, "shape", type(image))} {getattr(image, "dtype", "")}')
        packed = self.pipeline(dict(img=image, img_id=index))
        return packed['inputs'], dict(packed['data_samples'].metainfo)

    def normalise(self, image: torch.Tensor, meta: Dict) -> Tuple[np.ndarray, Dict]:
        """(3, h, w) uint8 pipeline output -> (3, H, W) float32 model input; ``meta`` updated if it had to shrink."""
        array = image.numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
        height, width = self.input_shape
        h, w = array.shape[1:]
        if h > height or w > width:  # fit into the static input, keeping the aspect ratio (as mmcv's Resize)
            scale = min(height / h, width / w)
            new_w, new_h = int(w * scale + 0.5), int(h * scale + 0.5)
            array = cv2.resize(np.ascontiguousarray(array.transpose(1, 2, 0)), (new_w, new_h),
                               interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1)
            meta = dict(meta, img_shape=(new_h, new_w))
            sx, sy = meta.get('scale_factor', (1.0, 1.0))
            meta['scale_factor'] = (sx * new_w / w, sy * new_h / h)
            h, w = new_h, new_w
        if self.to_rgb:
            array = array[::-1]
        canvas = np.zeros((3, height, width), dtype=np.float32)
        canvas[:, :h, :w] = (array.astype(np.float32) - self.mean) / self.std
        meta.setdefault('scale_factor', (1.0, 1.0))
        return canvas, dict(meta, batch_input_shape=(height, width), pad_shape=(height, width))

    def __call__(self, images: Sequence[Union[np.ndarray, str]]) -> Tuple[np.ndarray, List[Dict]]:
        inputs, metas = [], []
        for index, image in enumerate(images):
            canvas, meta = self.normalise(*self.load(image, index))
            inputs.append(canvas)
            metas.append(meta)
        return np.stack(inputs), metas


def img_shapes(metas: Sequence[Dict]) -> np.ndarray:
    """The graph's ``img_shape`` input: (N, 2) float32, each image's (h, w) inside the padded input."""
    return np.asarray([meta['img_shape'][:2] for meta in metas], dtype=np.float32).reshape(-1, 2)


def to_data_sample(dets: np.ndarray, labels: np.ndarray, meta: Dict) -> DetDataSample:
    """One image's ``dets`` (K, 5) / ``labels`` (K,) in model-input pixels (already clipped to its ``img_shape`` by
    the graph, where the head clips) -> a ``DetDataSample`` in the original image's pixels (rows with label -1
    dropped)."""
    keep = labels >= 0
    boxes = torch.from_numpy(np.ascontiguousarray(dets[keep, :4], dtype=np.float32))
    sx, sy = meta['scale_factor']
    boxes = boxes * boxes.new_tensor([1 / sx, 1 / sy]).repeat(2)  # mmdet's scale_boxes(bboxes, 1 / scale_factor)
    sample = DetDataSample(metainfo=meta)
    sample.pred_instances = InstanceData(bboxes=boxes, scores=torch.from_numpy(dets[keep, 4].astype(np.float32)),
                                         labels=torch.from_numpy(labels[keep].astype(np.int64)))
    return sample
