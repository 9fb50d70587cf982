"""Files and folders written under a temporary name and renamed into place get the permissions
the umask gives any other file (mkstemp's 0600 and mkdtemp's 0700 would stick after the rename)."""

import os
import stat

import pytest

from record.disk import temp_dir, temp_file, umask


@pytest.fixture(params=[0o022, 0o027, 0o002])
def mask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_temporary_files_and_folders_follow_the_umask(tmp_path, mask):
    assert umask() == mask
    folder = temp_dir(".x.", tmp_path)
    fd, path = temp_file(".y.", tmp_path)
    os.close(fd)
    assert mode(folder) == 0o777 & ~mask and mode(path) == 0o666 & ~mask


def test_batch_story_files_follow_the_umask(tmp_path, mask):
    from batch.manuscript import write_atomic

    path = write_atomic(tmp_path / "stories" / "0001-a.md", "A story.\n")
    (tmp_path / "plain.md").write_text("A file written the ordinary way.\n")
    assert mode(path) == mode(tmp_path / "plain.md") == 0o666 & ~mask


def test_the_converted_model_folder_follows_the_umask(tmp_path, tiny_model_dir, monkeypatch, mask):
    import writer.models as models
    from tests.writer.test_models import fake_convert

    monkeypatch.setattr(models, "builtin_gguf", lambda: tmp_path / "fake.gguf")
    monkeypatch.setattr(models, "_convert_gguf", fake_convert(tiny_model_dir))
    target = models.builtin_model_dir(tmp_path / "cache")
    assert mode(target) == 0o777 & ~mask
