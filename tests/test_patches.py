"""The table of third-party patches: each is applied only on the version it was written for, and can be listed."""
import subprocess
import sys
import types
import warnings

import pytest

import ghostdet  # noqa: F401  (applies the patches)
from ghostdet import patches
from ghostdet.patches import PATCHES, Patch, PatchSkippedWarning, apply_patches, patch_status


def test_every_patch_is_applied_in_the_pinned_environment():
    """setup.cfg pins the versions the patches target: a pin bumped without reviewing its patch fails here."""
    assert {'pkg-resources-warning', 'safe-checkpoint-loading', 'neck-in-channels-check',
            'ssd-head-predict'} <= set(patch_status())
    assert patch_status() == {patch.name: 'applied' for patch in PATCHES}
    assert len({patch.name for patch in PATCHES}) == len(PATCHES)


def test_applied_patches_are_in_effect():
    from mmdet.models.dense_heads import SSDHead
    from mmdet.registry import MODELS
    from mmengine.runner import checkpoint

    from ghostdet.engine.safe_load import load_from_local_safe
    assert checkpoint.load_from_local is load_from_local_safe
    assert MODELS.build_func.checks_neck and SSDHead.__init__.sets_loss_cls


@pytest.fixture
def recorder(monkeypatch):
    """A patch target module that records its calls, and a fresh status table."""
    module = types.ModuleType('patch_target')
    module.calls = []
    module.apply = lambda: module.calls.append(1)
    monkeypatch.setitem(sys.modules, 'patch_target', module)
    monkeypatch.setattr(patches, '_status', {})
    return module


def test_other_version_is_skipped_with_one_warning(recorder, monkeypatch):
    patch = Patch('demo-fix', 'somelib', '1.2.3', 'somelib 1.2.3 does it wrong (issue 1)', 'patch_target:apply')
    monkeypatch.setattr(patches, 'installed_version', lambda library: '1.3.0')
    with pytest.warns(PatchSkippedWarning) as record:
        status = apply_patches([patch])
    assert len(record) == 1
    assert "'demo-fix'" in str(record[0].message) and 'somelib 1.2.3' in str(record[0].message)
    assert 'found somelib 1.3.0' in str(record[0].message)
    assert status == {'demo-fix': 'skipped: somelib 1.3.0'} and recorder.calls == []
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        apply_patches([patch])  # looked at once: no second warning


def test_missing_library_is_skipped(recorder, monkeypatch):
    patch = Patch('demo-fix', 'somelib', '1.2.3', 'why', 'patch_target:apply')
    monkeypatch.setattr(patches, 'installed_version', lambda library: None)
    with pytest.warns(PatchSkippedWarning, match='somelib is not installed'):
        apply_patches([patch])
    assert recorder.calls == []


def test_target_version_is_applied_once(recorder, monkeypatch):
    patch = Patch('demo-fix', 'somelib', '1.2.3', 'why', 'patch_target:apply')
    monkeypatch.setattr(patches, 'installed_version', lambda library: '1.2.3')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert apply_patches([patch]) == {'demo-fix': 'applied'}
        apply_patches([patch])
    assert recorder.calls == [1]


def test_real_table_skips_each_patch_of_another_mmdet_by_name(monkeypatch):
    monkeypatch.setattr(patches, '_status', {})
    real = patches.installed_version
    monkeypatch.setattr(patches, 'installed_version', lambda lib: '3.4.0' if lib == 'mmdet' else real(lib))
    with pytest.warns(PatchSkippedWarning) as record:
        status = apply_patches()
    mmdet_patches = [patch.name for patch in PATCHES if patch.library == 'mmdet']
    assert len(record) == len(mmdet_patches) >= 2
    assert all(f"'{name}'" in str(warning.message) for name, warning in zip(mmdet_patches, record))
    assert all(status[name] == 'skipped: mmdet 3.4.0' for name in mmdet_patches)


def test_module_prints_the_table():
    result = subprocess.run([sys.executable, '-m', 'ghostdet.patches'], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert 'RuntimeWarning' not in result.stderr
    for patch in PATCHES:
        line = next(line for line in result.stdout.splitlines() if line.startswith(patch.name))
        assert f'{patch.library} {patch.version}' in line and 'applied' in line
