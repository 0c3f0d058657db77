import os

import cv2
import numpy as np
import pytest
from PIL import Image

from ghostdet.inference import ImageReadError, collect_inputs, read_image
from ghostdet.inference.images import image_size


@pytest.fixture
def picture():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)


def test_reads_png_jpeg_tiff_as_bgr(tmp_path, picture):
    for name in ('a.png', 'a.tif', 'a.tiff'):
        cv2.imwrite(str(tmp_path / name), picture)
        np.testing.assert_array_equal(read_image(str(tmp_path / name)), picture)
        assert image_size(str(tmp_path / name)) == (37, 53)
    cv2.imwrite(str(tmp_path / 'a.jpg'), picture, [cv2.IMWRITE_JPEG_QUALITY, 100])
    jpeg = read_image(str(tmp_path / 'a.jpg'))
    reference = np.asarray(Image.open(tmp_path / 'a.jpg').convert('RGB'))[..., ::-1]  # PIL's decoder
    assert jpeg.dtype == np.uint8 and np.abs(jpeg.astype(int) - reference).max() <= 2
    # grey, 16-bit and alpha images come out as 8-bit BGR
    cv2.imwrite(str(tmp_path / 'grey.png'), picture[..., 0])
    np.testing.assert_array_equal(read_image(str(tmp_path / 'grey.png')), np.repeat(picture[..., :1], 3, 2))
    cv2.imwrite(str(tmp_path / 'deep.tif'), picture.astype(np.uint16) * 256)
    assert np.abs(read_image(str(tmp_path / 'deep.tif')).astype(int) - picture).max() <= 1  # OpenCV's 16 -> 8 bit
    cv2.imwrite(str(tmp_path / 'alpha.png'), np.dstack([picture, np.full(picture.shape[:2], 255, np.uint8)]))
    np.testing.assert_array_equal(read_image(str(tmp_path / 'alpha.png')), picture)


def test_unreadable_images_are_errors(tmp_path, picture):
    cv2.imwrite(str(tmp_path / 'ok.jpg'), picture)
    data = (tmp_path / 'ok.jpg').read_bytes()
    (tmp_path / 'cut.jpg').write_bytes(data[:len(data) * 2 // 3])
    (tmp_path / 'trailing.jpg').write_bytes(data + b'camera data' * 10)
    (tmp_path / 'text.png').write_text('not an image')
    (tmp_path / 'empty.tif').write_bytes(b'')
    cv2.imwrite(str(tmp_path / 'ok.png'), picture)
    png = (tmp_path / 'ok.png').read_bytes()
    (tmp_path / 'cut.png').write_bytes(png[:len(png) // 2])
    assert read_image(str(tmp_path / 'trailing.jpg')).shape == picture.shape
    for name, message in [('cut.jpg', 'truncated JPEG'), ('text.png', 'cannot be decoded'),
                          ('empty.tif', 'cannot be decoded'), ('cut.png', 'cannot be decoded'),
                          ('missing.png', 'no such file')]:
        with pytest.raises(ImageReadError, match=message):
            read_image(str(tmp_path / name))


def test_collect_files_folders_and_globs(tmp_path, monkeypatch):
    for rel in ('x/a.png', 'x/b.JPG', 'x/deep/c.tif', 'x/notes.txt', 'y/a.png', 'z.jpeg'):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b'')
    monkeypatch.chdir(tmp_path)
    found = collect_inputs(['x', 'z.jpeg', 'x/a.png'])  # the same file twice counts once
    assert [(i.path, i.name) for i in found] == [
        ('x/a.png', 'a.png'), ('x/b.JPG', 'b.JPG'), ('x/deep/c.tif', 'deep/c.tif'), ('z.jpeg', 'z.jpeg')]
    assert [(i.path, i.name) for i in collect_inputs(['y/*.png'])] == [('y/a.png', 'a.png')]
    assert [i.name for i in collect_inputs([os.path.join('**', 'c.tif')])] == ['x/deep/c.tif']


def test_collect_refuses_name_clashes_and_empty_sources(tmp_path, monkeypatch):
    for rel in ('x/a.png', 'y/a.png'):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b'')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="would both be written as 'a.png'"):
        collect_inputs(['x', 'y'])
    with pytest.raises(FileNotFoundError, match='no image found'):
        collect_inputs(['nothing*.png'])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no image found'):
        collect_inputs(['empty'])
