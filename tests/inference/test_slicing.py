import numpy as np
import pytest

from ghostdet.inference.slicing import parse_slice_size, slice_windows

sahi_slicing = pytest.importorskip('sahi.slicing')


@pytest.mark.parametrize('seed', range(4))
def test_windows_equal_sahi(seed):
    rng = np.random.default_rng(seed)
    for _ in range(50):
        height, width = rng.integers(1, 3000, size=2)
        slice_h, slice_w = rng.integers(1, 800, size=2)
        overlap = float(rng.choice([0.0, 0.2, 0.25, 0.5, 0.9, rng.uniform(0, 0.99)]))
        expected = sahi_slicing.get_slice_bboxes(int(height), int(width), int(slice_h), int(slice_w),
                                                 overlap_height_ratio=overlap, overlap_width_ratio=overlap)
        got = slice_windows(int(height), int(width), (int(slice_h), int(slice_w)), overlap)
        np.testing.assert_array_equal(got, np.asarray(expected).reshape(-1, 4))


def test_windows_cover_image_and_keep_slice_size():
    windows = slice_windows(1000, 1500, (256, 320), 0.2)
    assert (windows[:, 2:] - windows[:, :2] == [320, 256]).all()
    covered = np.zeros((1000, 1500), bool)
    for x0, y0, x1, y1 in windows:
        covered[y0:y1, x0:x1] = True
    assert covered.all()


def test_slice_larger_than_image_is_one_window():
    np.testing.assert_array_equal(slice_windows(100, 60, 640), [[0, 0, 60, 100]])
    np.testing.assert_array_equal(slice_windows(100, 700, 640, 0.5), [[0, 0, 640, 100], [60, 0, 700, 100]])


@pytest.mark.parametrize('size', [0, -5, (0, 10), (10, -1), (1, 2, 3), 2.5, (2.0, 3)])
def test_bad_slice_size(size):
    with pytest.raises(ValueError, match='slice size'):
        parse_slice_size(size)


@pytest.mark.parametrize('overlap', [-0.1, 1.0, 1.5])
def test_bad_overlap(overlap):
    with pytest.raises(ValueError, match=r'overlap must be in \[0, 1\)'):
        slice_windows(100, 100, 10, overlap)
