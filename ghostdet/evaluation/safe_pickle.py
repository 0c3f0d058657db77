"""Reading the pickle mmdet's ``tools/test.py --out`` writes without executing code from it.

``pickle.load`` calls whatever the file names (an ``os.system`` reduce runs its command). This unpickler resolves
only the globals such a file needs: numpy arrays, dtypes and scalars, ``OrderedDict`` and torch tensors. A tensor
pickles its storage as the bytes of ``torch.save``, which torch reads back with ``weights_only=False``; here those
bytes go through ``torch.load(weights_only=True)`` instead. torch is imported only when the file holds tensors.
"""
import importlib
import io
import pickle
from typing import Any, Callable, Dict, Tuple


def _load_storage(data: bytes):
    import torch
    return torch.load(io.BytesIO(data), weights_only=True)


def _import(module: str, name: str) -> Callable[[], Any]:
    return lambda: getattr(importlib.import_module(module), name)


_ALLOWED: Dict[Tuple[str, str], Callable[[], Any]] = {
    ('collections', 'OrderedDict'): _import('collections', 'OrderedDict'),
    ('_codecs', 'encode'): _import('_codecs', 'encode'),  # protocol 2 writes bytes as codecs.encode(str, 'latin1')
    ('torch._utils', '_rebuild_tensor_v2'): _import('torch._utils', '_rebuild_tensor_v2'),
    ('torch.storage', '_load_from_bytes'): lambda: _load_storage,
    ('torch', 'Size'): _import('torch', 'Size'),
    **{(module, name): _import(module.replace('numpy.core', 'numpy._core'), name)
       for module in ('numpy.core.multiarray', 'numpy._core.multiarray') for name in ('_reconstruct', 'scalar')},
    ('numpy', 'ndarray'): _import('numpy', 'ndarray'),
    ('numpy', 'dtype'): _import('numpy', 'dtype'),
}


class _AllowListUnpickler(pickle.Unpickler):

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]()
        except KeyError:
            raise pickle.UnpicklingError(
                f'refused to load {module}.{name}: a results pickle holds only numpy arrays and scalars, torch '
                'tensors, dicts and lists') from None


def safe_load_pickle(path: str) -> Any:
    """Load a results pickle, resolving only the allow-listed globals (see the module doc).

    Raises:
        pickle.UnpicklingError: The file names anything else (e.g. ``os.system``); nothing from it is executed.
    """
    with open(path, 'rb') as f:
        return _AllowListUnpickler(f).load()
