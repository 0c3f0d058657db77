"""Writing files so that a kill or a full disk never leaves a half-written file under its final name.

Every writer in ghostdet (checkpoints, converted models, datasets, detections) writes ``.<name>.part`` next to the
target, makes it durable and renames it into place: a reader sees the old content or the new, never a mix.
"""
import os
import os.path as osp

__all__ = ['PARTIAL_SUFFIX', 'partial_path', 'replace_atomically', 'write_bytes_atomically', 'write_text_atomically']

PARTIAL_SUFFIX = '.part'


def partial_path(path: str) -> str:
    """Where ``path`` is written before it is renamed into place (hidden, in the same folder)."""
    return osp.join(osp.dirname(path), f'.{osp.basename(path)}{PARTIAL_SUFFIX}')


def _fsync_dir(path: str) -> None:
    """Make a rename in ``path`` durable (POSIX; Windows cannot open a folder for fsync)."""
    if os.name != 'posix':
        return
    fd = os.open(path or '.', os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(partial: str, final: str) -> None:
    """Make the finished file ``partial`` durable and give it the name ``final`` in one step."""
    with open(partial, 'rb') as f:
        os.fsync(f.fileno())
    os.replace(partial, final)
    _fsync_dir(osp.dirname(final))


def write_bytes_atomically(path: str, data: bytes) -> None:
    """Replace ``path``'s content by ``data`` (creating its folder); a failure raises ``OSError`` naming ``path``."""
    path = os.fspath(path)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    partial = partial_path(path)
    try:
        with open(partial, 'wb') as f:
            f.write(data)
        replace_atomically(partial, path)
    except OSError as error:
        raise OSError(f'could not write {path}: {error}') from error


def write_text_atomically(path: str, text: str) -> None:
    """:func:`write_bytes_atomically` for text (UTF-8)."""
    write_bytes_atomically(path, text.encode())
