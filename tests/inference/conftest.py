import pytest

from tiny_detector import write_tiny_detector


@pytest.fixture(scope='session')
def detector_files(tmp_path_factory, synthetic_coco, make_tiny_config):
    """``config``, ``checkpoint`` and ``classes`` of a tiny detector that detects plenty (random weights)."""
    return write_tiny_detector(tmp_path_factory.mktemp('detector'), synthetic_coco, make_tiny_config)
