__version__ = '0.1.0'


def pinned_version(name: str) -> str:
    """The version setup.cfg (the one place pins are written) pins ``name`` to, from ghostdet's installed metadata."""
    from importlib.metadata import requires
    for requirement in requires('ghostdet') or []:
        spec = requirement.split(';')[0].replace(' ', '')
        if spec.lower().startswith(f'{name.lower()}=='):
            return spec.split('==', 1)[1]
    raise KeyError(f'setup.cfg pins no version of {name}')
