"""Fixes for mmdet 3.3.0 bugs that stop stock mmdet configs used by ghostdet from running (applied by
:mod:`ghostdet.patches`)."""
import functools


def fix_ssd_head_predict() -> None:
    """Let ``SSDHead`` predict (idempotent).

    mmdet 3.3.0's ``BaseDenseHead._predict_by_feat_single`` reads ``self.loss_cls``, which ``SSDHead`` never sets (it
    skips ``AnchorHead.__init__``), so every SSD / SSDLite prediction raises AttributeError (open-mmlab/mmdetection
    #11305, #11780; fix proposed in #11524). ``loss_cls = None`` on the instance takes the head's normal softmax path.
    """
    from mmdet.models.dense_heads import SSDHead

    if getattr(SSDHead.__init__, 'sets_loss_cls', False):
        return
    original_init = SSDHead.__init__

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if 'loss_cls' not in self._modules and 'loss_cls' not in self.__dict__:
            self.loss_cls = None

    __init__.sets_loss_cls = True
    SSDHead.__init__ = __init__
