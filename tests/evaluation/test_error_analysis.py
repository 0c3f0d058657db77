"""TIDE errors and the confusion matrix on constructed images whose answer is known by hand."""
import hotcoco
import numpy as np
import pytest

from ghostdet.evaluation import GroundTruth, confusion_matrix, tide_by_range

A, B, C = 1, 2, 3
LONE_TP_AP = 1 - 2 ** -52  # pycocotools' precision guard puts a lone true positive an ulp under 1


def problem(objects, detections):
    """``objects``: (category, x, y, w, h); ``detections``: (category, x, y, w, h, score); one 200x200 image."""
    gt = GroundTruth.from_coco(hotcoco.COCO(dict(
        images=[dict(id=1, width=200, height=200)],
        categories=[dict(id=A, name='a'), dict(id=B, name='b'), dict(id=C, name='c')],
        annotations=[dict(id=i + 1, image_id=1, category_id=c, bbox=[x, y, w, h], area=w * h, iscrowd=0)
                     for i, (c, x, y, w, h) in enumerate(objects)])))
    dets = np.array([[1, x, y, w, h, s, c] for c, x, y, w, h, s in detections], dtype=np.float64).reshape(-1, 7)
    return gt, gt.coco.load_res(dets)


def tide(objects, detections, ranges=None):
    gt, dt = problem(objects, detections)
    return tide_by_range(gt, dt, ranges or {}, max_det=100)


OBJ = (A, 10, 10, 50, 50)
# IoU with OBJ: shifted by 25 px -> 1250 / 3750 = 1/3 (localisation window), by 2 px -> 2400 / 2600 (a hit)
SHIFT25, SHIFT2 = (35, 10, 50, 50), (12, 10, 50, 50)


@pytest.mark.parametrize('detections, counts', [
    ([(A, *SHIFT25, .9)], dict(Loc=1)),  # right class, IoU 1/3: Loc; the object it targets is no Miss
    ([(B, *SHIFT2, .9)], dict(Cls=1)),  # wrong class on the object: Cls
    ([(A, 10, 10, 50, 50, .9), (A, *SHIFT2, .8)], dict(Dupe=1)),  # second hit on a found object
    ([(A, 150, 150, 20, 20, .9)], dict(Bkg=1, Miss=1)),  # nothing there; the object is missed
    ([(B, *SHIFT25, .9)], dict(Both=1, Miss=1)),  # wrong class and IoU 1/3
])
def test_each_error_type(detections, counts):
    errors = tide([OBJ], detections)['all']
    assert errors['counts'] == dict(dict.fromkeys(('Cls', 'Loc', 'Both', 'Dupe', 'Bkg', 'Miss'), 0), **counts)
    assert errors['num_fp'] == sum(n for t, n in counts.items() if t != 'Miss') and errors['num_gt'] == 1


def test_delta_ap_of_fixing_each_type():
    # fixing the Loc (or Cls) detection turns AP50 0 into a lone true positive's
    assert tide([OBJ], [(A, *SHIFT25, .9)])['all']['dAP']['Loc'] == pytest.approx(LONE_TP_AP, abs=1e-12)
    assert tide([OBJ], [(B, *SHIFT2, .9)])['all']['dAP']['Cls'] == pytest.approx(LONE_TP_AP, abs=1e-12)
    # a duplicate after the hit costs nothing at IoU 0.5 (precision is interpolated from the right)
    dupe = tide([OBJ], [(A, 10, 10, 50, 50, .9), (A, *SHIFT2, .8)])['all']
    assert dupe['AP50'] == pytest.approx(LONE_TP_AP, abs=1e-12) and dupe['dAP']['Dupe'] == 0
    # two objects of class a, one found (recall 1/2: AP 51/101), one hidden under a class-b detection
    errors = tide([OBJ, (A, 100, 100, 40, 40)], [(B, *SHIFT2, .9), (A, 100, 100, 40, 40, .8)])['all']
    assert errors['counts']['Cls'] == 1 and errors['counts']['Miss'] == 0
    assert errors['AP50'] == pytest.approx(51 / 101, abs=1e-12)
    assert errors['dAP']['Cls'] == pytest.approx(LONE_TP_AP - 51 / 101, abs=1e-12)
    assert errors['dAP']['FN'] == pytest.approx(LONE_TP_AP - 51 / 101, abs=1e-12)  # no missed object left
    # a background detection ranked above the one hit (precision 1/2 up to recall 1/2: AP 51 / 202) and a miss:
    # removing the background detection gives AP 51/101, removing the missed object from the count AP 1/2
    errors = tide([OBJ, (A, 100, 100, 40, 40)], [(A, 100, 100, 40, 40, .5), (A, 150, 150, 20, 20, .9)])['all']
    assert errors['counts']['Bkg'] == 1 and errors['counts']['Miss'] == 1
    assert errors['AP50'] == pytest.approx(51 / 202, abs=1e-9)
    assert errors['dAP']['Bkg'] == pytest.approx(51 / 101 - 51 / 202, abs=1e-9)
    assert errors['dAP']['Miss'] == pytest.approx(1 / 2 - 51 / 202, abs=1e-9)
    # a Loc detection of an object already found is removed by the fix, not counted as a second hit (TIDE's rule)
    errors = tide([OBJ, (A, 100, 100, 40, 40)], [(A, *SHIFT25, .9), (A, 10, 10, 50, 50, .8)])['all']
    assert errors['counts']['Loc'] == 1 and errors['dAP']['Loc'] == pytest.approx(51 / 101 - 51 / 202, abs=1e-9)


def test_errors_are_counted_in_their_size_range():
    """A missed 6x6 object and a 6x6 background detection belong to 'tiny'; the found 50x50 object to 'large'."""
    objects = [OBJ, (A, 150, 150, 6, 6)]
    detections = [(A, 10, 10, 50, 50, .9), (A, 100, 20, 6, 6, .8)]
    errors = tide(objects, detections, {'tiny': (0, 16 ** 2), 'large': (32 ** 2, 1e10)})
    assert errors['all']['counts']['Miss'] == 1 and errors['all']['counts']['Bkg'] == 1
    assert errors['tiny']['counts']['Miss'] == 1 and errors['tiny']['counts']['Bkg'] == 1
    assert errors['tiny']['num_gt'] == 1 and errors['tiny']['AP50'] == 0
    assert errors['large']['counts'] == dict.fromkeys(('Cls', 'Loc', 'Both', 'Dupe', 'Bkg', 'Miss'), 0)
    assert errors['large']['AP50'] == pytest.approx(LONE_TP_AP, abs=1e-12)


def test_bad_thresholds():
    gt, dt = problem([OBJ], [])
    with pytest.raises(ValueError, match='bg_thr <= pos_thr'):
        tide_by_range(gt, dt, {}, 100, pos_thr=0.1, bg_thr=0.5)


def test_confusion_matrix():
    objects = [OBJ, (B, 100, 100, 40, 40), (C, 150, 20, 30, 30)]
    detections = [(A, 10, 10, 50, 50, .9),  # a as a
                  (A, 100, 100, 40, 40, .8),  # b taken for a
                  (B, 20, 150, 20, 20, .7),  # b where there is nothing
                  (C, 150, 20, 30, 30, .1)]  # c found, but below the score threshold: c counts as missed
    cm = confusion_matrix(*problem(objects, detections), iou_thr=0.5, max_det=100, min_score=0.3)
    assert cm['names'] == ['a', 'b', 'c']
    np.testing.assert_array_equal(cm['matrix'], [[1, 0, 0, 0],
                                                 [1, 0, 0, 0],
                                                 [0, 0, 0, 1],
                                                 [0, 1, 0, 0]])
