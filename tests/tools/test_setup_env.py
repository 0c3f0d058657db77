"""Versions are pinned once, in setup.cfg: the set-up script reads them, the environment and ghostdet's installed
metadata agree with them."""
import configparser
import re
from importlib.metadata import version
from pathlib import Path

import pytest

from ghostdet.version import pinned_version

REPO = Path(__file__).resolve().parents[2]


def setup_cfg_pins() -> dict:
    config = configparser.ConfigParser()
    config.read(REPO / 'setup.cfg')
    lists = [config['options']['install_requires'], *config['options.extras_require'].values()]
    pins = dict(re.fullmatch(r'([\w.-]+)==([\w.]+)', line.strip()).groups()
                for text in lists for line in text.splitlines() if line.strip())
    return pins


def test_every_requirement_is_pinned():
    pins = setup_cfg_pins()  # a line without == fails the fullmatch above
    assert {'torch', 'torchvision', 'mmengine', 'mmcv', 'mmdet', 'deepforest', 'setuptools'} <= set(pins)


def test_setup_script_names_no_version():
    script = (REPO / 'tools' / 'setup_env.sh').read_text()
    assert not re.findall(r'\d+\.\d+\.\d+', script)
    assert not re.findall(r'==\s*\d', script)


@pytest.mark.parametrize('name, pin', sorted(setup_cfg_pins().items()))
def test_environment_has_the_pinned_versions(name, pin):
    assert version(name).split('+')[0] == pin
    assert pinned_version(name) == pin  # ghostdet's installed metadata was built from this setup.cfg
