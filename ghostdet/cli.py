"""Pieces of ghostdet's command-line tools (``tools/``): mmdet's own train/test scripts run with ghostdet
registered, and the arguments that several tools share."""
import argparse
import runpy
from pathlib import Path
from typing import Callable

import mmdet

MMDET_TOOLS = Path(mmdet.__file__).parent / '.mim' / 'tools'


def run_mmdet_tool(name: str) -> None:
    """Run ``mmdet/.mim/tools/<name>.py`` as ``__main__`` on this process's ``sys.argv``; importing this module
    (through ``ghostdet``) has registered ghostdet's modules and made mmengine's checkpoints load on torch >= 2.6."""
    script = MMDET_TOOLS / f'{name}.py'
    if not script.is_file():
        raise FileNotFoundError(f"mmdet's {script} is missing: install mmdet from its wheel (pip install "
                                f'mmdet==3.3.0), which ships its tools under mmdet/.mim/tools')
    runpy.run_path(str(script), run_name='__main__')


def converter_parser(description: str, out_config_required: bool) -> argparse.ArgumentParser:
    """``CONFIG CHECKPOINT OUT_CHECKPOINT``, the converted config (``OUT_CONFIG``, or ``--out-config`` where it is
    optional) and ``--force``: the arguments of a tool that converts a trained checkpoint."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='the trained checkpoint')
    parser.add_argument('out_checkpoint', help='where to write the converted checkpoint')
    parser.add_argument('out_config' if out_config_required else '--out-config',
                        help='where to write the converted config (.py)')
    parser.add_argument('--force', action='store_true', help='overwrite existing output files')
    return parser


def run_converter(parser: argparse.ArgumentParser, convert: Callable, *args, **kwargs):
    """``convert(*args, **kwargs)``; a refused input or output ends the tool with its message (exit status 1)
    instead of a traceback."""
    try:
        return convert(*args, **kwargs)
    except (FileExistsError, FileNotFoundError, ValueError) as error:  # CheckpointMismatchError included
        parser.exit(1, f'{parser.prog}: error: {error}\n')


def add_timing_arguments(parser: argparse.ArgumentParser, repeats: int, warmup: int) -> None:
    """``--repeats`` (>= 1), ``--warmup`` (>= 0) and ``--threads`` (>= 1) of a timing tool."""

    def at_least(minimum: int) -> Callable[[str], int]:

        def parse(text: str) -> int:
            value = int(text)
            if value < minimum:
                raise argparse.ArgumentTypeError(f'must be >= {minimum}, got {value}')
            return value

        return parse

    parser.add_argument('--repeats', type=at_least(1), default=repeats, help='timed runs')
    parser.add_argument('--warmup', type=at_least(0), default=warmup, help='untimed runs first')
    parser.add_argument('--threads', type=at_least(1), help="torch CPU threads (default: torch's)")
