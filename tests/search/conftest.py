import pytest


@pytest.fixture
def media_root(settings, tmp_path):
    """Page images of this test in its own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
