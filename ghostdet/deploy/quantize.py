"""Post-training static int8 quantisation of an exported graph with ONNX Runtime's quantiser.

Convolutions get int8 weights (per output channel, symmetric) and uint8 activations with ranges calibrated (min/max)
on real images through the export's own pre-processing; the result is a QDQ graph that ONNX Runtime and OpenVINO
both run as int8. Box decoding and NMS stay float.
"""
import json
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Union

import numpy as np
from mmengine.config import Config

from .end2end import IMG_SHAPE_NAME
from .preprocess import Preprocessor, img_shapes
from .runtimes import import_runtime

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def calibration_images(cfg: Config, source: Optional[Union[str, Path]], limit: int) -> List[str]:
    """Up to ``limit`` image paths, spread evenly over the source: a folder, a COCO annotation file (its
    ``file_name`` relative to the file's folder, its parent, or the config's training image folder), or, by
    default, the config's training set."""
    train = cfg.get('train_dataloader', {}).get('dataset', {})
    while 'dataset' in train and 'ann_file' not in train:  # dataset wrappers (RepeatDataset, ...)
        train = train['dataset']
    data_root = Path(train.get('data_root', '') or '')
    image_root = data_root / (train.get('data_prefix', {}) or {}).get('img', '')
    if source is None:
        if not train.get('ann_file'):
            raise ValueError('int8 calibration needs images: pass --calib-images DIR_OR_COCO_JSON')
        source = data_root / train['ann_file']
    source = Path(source)
    if source.is_dir():
        paths = sorted(str(p) for p in source.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES)
    elif source.is_file() and source.suffix == '.json':
        names = [image['file_name'] for image in json.loads(source.read_text()).get('images', [])]
        paths = []
        for name in names:
            found = next((root / name for root in (source.parent, source.parent.parent, image_root)
                          if (root / name).is_file()), None)
            if found is None:
                raise FileNotFoundError(f'calibration image {name} of {source} not found next to it, in its parent '
                                        f'folder or in {image_root}')
            paths.append(str(found))
    else:
        raise FileNotFoundError(f'--calib-images {source}: not a folder of images or a COCO .json file')
    if not paths:
        raise ValueError(f'no images for int8 calibration in {source}')
    index = np.linspace(0, len(paths) - 1, min(limit, len(paths))).round().astype(int)
    return [paths[i] for i in sorted(set(index))]


def quantize_int8(onnx_path: Path, out_path: Path, info: Dict, cfg: Config, source: Optional[Union[str, Path]],
                  limit: int) -> Dict:
    """Write the int8 QDQ version of ``onnx_path`` to ``out_path``; returns what it was calibrated on."""
    import onnx
    quantization = import_runtime('onnxruntime.quantization')
    paths = calibration_images(cfg, source, limit)
    preprocessor = Preprocessor(info)
    takes_img_shape = any(i.name == IMG_SHAPE_NAME for i in onnx.load(str(onnx_path)).graph.input)

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            self.batches: Iterator = (preprocessor([path]) for path in paths)

        def get_next(self):
            batch, metas = next(self.batches, (None, None))
            if batch is None:
                return None
            return {info['input_name']: batch, **({IMG_SHAPE_NAME: img_shapes(metas)} if takes_img_shape else {})}

    quantization.quantize_static(
        str(onnx_path), str(out_path), Reader(), quant_format=quantization.QuantFormat.QDQ,
        op_types_to_quantize=['Conv'], per_channel=True, activation_type=quantization.QuantType.QUInt8,
        weight_type=quantization.QuantType.QInt8, calibrate_method=quantization.CalibrationMethod.MinMax)
    return dict(method='onnxruntime quantize_static, QDQ, Conv only, per-channel int8 weights, uint8 activations, '
                       'min/max calibration', images=len(paths), source=str(source or 'training set'))
