import numpy as np

from ghostdet.inference import Detections, draw_detections


def test_drawing_is_downscaled_for_large_images():
    image = np.zeros((3000, 5000, 3), np.uint8)
    dets = Detections(np.array([[1000., 1000, 2000, 1500]]), np.array([0.9], np.float32), np.array([1]))
    drawn = draw_detections(image, dets, ('a', 'b'), max_side=1000)
    assert drawn.shape == (600, 1000, 3)
    # the box outline sits at the scaled coordinates, nothing inside it is drawn
    assert drawn[200, 200:400].any() and drawn[300, 200].any() and not drawn[250:290, 210:390].any()
    assert not image.any()  # the input is left alone
    small = draw_detections(image[:100, :100], Detections.empty(), ('a', ))
    assert small.shape == (100, 100, 3)
