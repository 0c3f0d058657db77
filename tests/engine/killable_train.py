"""tools/train.py with one ``kill -9`` planted at a chosen point of checkpoint saving (used by the crash tests).

    KILL_AT=<point>:<n> python killable_train.py CONFIG --work-dir DIR [--resume]

Points, counted over this process's checkpoint saves:
    mid_write     half of the n-th checkpoint's bytes are on disk, the rest never comes;
    after_rename  the n-th checkpoint is complete under its final name, last_checkpoint not yet updated;
    after_record  last_checkpoint names the n-th checkpoint, outdated ones are not yet deleted.
Without KILL_AT it is plain tools/train.py.
"""
import io
import os
import runpy
import signal
from pathlib import Path

import torch
from mmengine.runner import runner as mmengine_runner

import ghostdet  # noqa: F401  (patches applied)
from ghostdet.engine import checkpoint_hook

POINT, COUNT = os.environ.get('KILL_AT', 'none:0').split(':')
COUNT = int(COUNT)
calls = 0


def kill_self():
    os.kill(os.getpid(), signal.SIGKILL)


def counted(function, is_checkpoint=lambda *args: True):
    def call(*args, **kwargs):
        global calls
        if POINT == 'mid_write' and is_checkpoint(*args):
            calls += 1
            if calls == COUNT:
                buffer = io.BytesIO()
                torch.save(args[0], buffer)
                with open(args[1], 'wb') as f:
                    f.write(buffer.getvalue()[:len(buffer.getvalue()) // 2])
                    f.flush()
                kill_self()
            return function(*args, **kwargs)
        result = function(*args, **kwargs)
        if is_checkpoint(*args):
            calls += 1
            if calls == COUNT:
                kill_self()
        return result
    return call


if POINT == 'mid_write':
    mmengine_runner.save_checkpoint = counted(mmengine_runner.save_checkpoint)
elif POINT == 'after_rename':
    checkpoint_hook.replace_atomically = counted(checkpoint_hook.replace_atomically,
                                                 lambda partial, final: final.endswith('.pth'))
elif POINT == 'after_record':
    checkpoint_hook.write_text_atomically = counted(checkpoint_hook.write_text_atomically,
                                                    lambda path, text: path.endswith('last_checkpoint'))

runpy.run_path(str(Path(__file__).resolve().parents[2] / 'tools' / 'train.py'), run_name='__main__')
