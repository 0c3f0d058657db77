"""One detector interface for every backend: images in, mmdet ``DetDataSample`` results out.

``build_detector('pytorch', config=..., checkpoint=...)`` runs an mmdet model; the exported backends
(``'onnxruntime'``, ``'openvino'``) register themselves from :mod:`ghostdet.deploy`, which is imported only when
one of them is asked for, so ``import ghostdet`` never needs a runtime package.
"""
import copy
import importlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import Registry, init_default_scope
from mmengine.runner import load_checkpoint
from mmdet.registry import DATASETS, MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import get_test_pipeline_cfg

INFERENCE_BACKENDS = Registry('inference backend')
# Backends whose classes live in ghostdet.deploy (imported lazily: they need the `deploy` extra).
EXPORTED_BACKENDS = ('onnxruntime', 'openvino', 'ncnn')


class Detector(ABC):
    """Images in, mmdet ``DetDataSample`` results out; boxes in each input image's own pixels (x1, y1, x2, y2).

    ``class_names[label]`` names a predicted label. The score threshold is the detector's own (mmdet
    ``test_cfg`` or the exported model's ``deploy.json``); callers filter further if they want.
    """
    class_names: Tuple[str, ...]

    @abstractmethod
    def predict(self, images: Sequence[np.ndarray]) -> List[DetDataSample]:
        """Detect objects in one batch of images.

        Args:
            images (Sequence[np.ndarray]): ``H x W x 3`` uint8 BGR images (the OpenCV / mmcv convention), any
                sizes.

        Returns:
            list[DetDataSample]: One per image; ``pred_instances`` has ``bboxes`` (N, 4) float, ``scores`` (N,)
            and ``labels`` (N,) long tensors; the metainfo has ``ori_shape`` and ``img_shape``.
        """


def array_pipeline_cfg(transforms: Sequence[dict]) -> List[dict]:
    """A test pipeline's config for an image given as an array: ``LoadImageFromNDArray`` first, the file and
    annotation loading dropped (there is nothing to read at inference), every transform in mmdet's scope."""
    steps = [dict(type='mmdet.LoadImageFromNDArray')]
    for transform in copy.deepcopy(list(transforms)):
        kind = transform['type']
        name = str(kind).split('.')[-1]
        if name in ('LoadImageFromFile', 'LoadImageFromNDArray') or name.startswith('LoadAnnotations'):
            continue
        steps.append(dict(transform, type=f'mmdet.{kind}' if isinstance(kind, str) and '.' not in kind else kind))
    return steps


def array_pipeline(transforms: Sequence[dict]) -> Compose:
    """:func:`array_pipeline_cfg`, built."""
    return Compose(array_pipeline_cfg(transforms))


def class_names_from(cfg: Config, checkpoint_meta: dict) -> Tuple[str, ...]:
    """Class names saved with the checkpoint (mmengine's ``dataset_meta``), else those of the config's test set."""
    meta = {k.lower(): v for k, v in checkpoint_meta.get('dataset_meta', {}).items()}
    if meta.get('classes'):
        return tuple(meta['classes'])
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset_cfg['lazy_init'] = True  # metainfo only: no annotation file is read
    return tuple(DATASETS.build(dataset_cfg).metainfo['classes'])


class ModelDetector(Detector):
    """A built mmdet model run by an mmdet test pipeline that starts from an array (``LoadImageFromNDArray``).

    Args:
        model (BaseDetector): The model, weights loaded, in eval mode.
        pipeline (Compose): Transforms from the array to ``PackDetInputs``.
        class_names (Sequence[str]): Names of the model's labels.
    """

    def __init__(self, model, pipeline: Compose, class_names: Sequence[str]):
        self.model = model
        self.pipeline = pipeline
        self.class_names = tuple(class_names)

    @torch.no_grad()
    def predict(self, images: Sequence[np.ndarray]) -> List[DetDataSample]:
        if not len(images):
            return []
        # scale_factor 1 unless the pipeline resizes: mmdet's heads rescale their boxes by it
        batch = pseudo_collate([self.pipeline(dict(img=image, img_id=i, scale_factor=(1.0, 1.0)))
                                for i, image in enumerate(images)])
        return self.model.test_step(batch)


@INFERENCE_BACKENDS.register_module(name='pytorch')
class PytorchDetector(ModelDetector):
    """An mmdet detector from a config and a checkpoint, run by the config's own test pipeline and ``test_step``.

    The model is switched to its inference form (:func:`ghostdet.models.switch_detector_to_deploy`: BatchNorm
    folded, re-parameterised branches fused; outputs unchanged) unless ``deploy=False``.

    Args:
        config (str | Path | Config): The model's mmdet config.
        checkpoint (str | Path): Its weights; loaded strictly (a wrong file is an error, not random layers).
        device (str): ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        deploy (bool): Run the inference form. Defaults to True.
        cfg_options (dict, optional): Config overrides, as ``--cfg-options`` of the mmdet tools.
    """

    def __init__(self, config: Union[str, Path, Config], checkpoint: Union[str, Path], device: str = 'cpu',
                 deploy: bool = True, cfg_options: Optional[dict] = None):
        from ghostdet.models.deploy import switch_detector_to_deploy  # the models package imports this one
        cfg = copy.deepcopy(config) if isinstance(config, Config) else Config.fromfile(str(config))
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        if not Path(checkpoint).is_file():
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        init_default_scope(cfg.get('default_scope', 'mmdet'))
        model_cfg = copy.deepcopy(cfg.model)
        if 'backbone' in model_cfg:
            model_cfg.backbone.init_cfg = None  # weights come from the checkpoint, not from ImageNet files
        model = MODELS.build(model_cfg)
        meta = load_checkpoint(model, str(checkpoint), map_location='cpu', strict=True).get('meta', {})
        class_names = class_names_from(cfg, meta)
        model.dataset_meta = dict(classes=class_names)
        model = (switch_detector_to_deploy(model) if deploy else model.eval()).to(device)
        super().__init__(model, array_pipeline(get_test_pipeline_cfg(cfg)), class_names)
        self.cfg = cfg


def _import_exported_backends() -> None:
    try:
        importlib.import_module('ghostdet.deploy')
    except ImportError as error:
        raise ImportError(f'the exported-model backends need the deploy extra ({error}); install it with '
                          f'`pip install -e .[deploy]` (or `make setup`)') from error


def build_detector(backend: str = 'pytorch', *, config: Optional[Union[str, Path, Config]] = None,
                   checkpoint: Optional[Union[str, Path]] = None, model_dir: Optional[Union[str, Path]] = None,
                   device: str = 'cpu') -> Detector:
    """The :class:`Detector` of ``backend``.

    Args:
        backend (str): ``'pytorch'`` (needs ``config`` and ``checkpoint``) or an exported backend,
            ``'onnxruntime'`` / ``'openvino'`` (needs ``model_dir``, an export folder with ``deploy.json``).
        config, checkpoint: The mmdet config and checkpoint of the ``'pytorch'`` backend.
        model_dir: The export folder of an exported backend.
        device (str): ``'cpu'`` or ``'cuda'`` (``'cuda:N'``).
    """
    if backend == 'pytorch':
        if config is None or checkpoint is None or model_dir is not None:
            raise ValueError('the pytorch backend takes a config and a checkpoint (--config/--checkpoint); '
                             'an export folder (--model) goes with --backend onnxruntime|openvino')
        return INFERENCE_BACKENDS.get('pytorch')(config, checkpoint, device=device)
    if backend in EXPORTED_BACKENDS and backend not in INFERENCE_BACKENDS:
        _import_exported_backends()
    if backend not in INFERENCE_BACKENDS:
        raise KeyError(f'unknown inference backend {backend!r}; choose from '
                       f'{sorted(set(INFERENCE_BACKENDS.module_dict) | set(EXPORTED_BACKENDS))}')
    if model_dir is None or config is not None or checkpoint is not None:
        raise ValueError(f'the {backend} backend takes an export folder (--model EXPORT_DIR); '
                         f'--config/--checkpoint go with --backend pytorch')
    return INFERENCE_BACKENDS.get(backend)(model_dir, backend=backend, device=device)
