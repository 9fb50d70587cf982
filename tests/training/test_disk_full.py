"""A full disk while a round saves its adapter: safetensors raises its own SafetensorError (not an
OSError); the command still says what happened and what to do, exits 2, and the current round
stays current. (And the adapter folder a round writes follows the umask.)"""

import os
import stat
from pathlib import Path

from tests.training.fakes import seed_pairs
from ui.cli import main


def test_a_full_disk_saving_the_adapter_is_a_message_and_keeps_the_current_round(record, workspace, tiny_model_dir,
                                                                               monkeypatch, capsys):
    import peft.peft_model
    from safetensors import SafetensorError

    seed_pairs(record, 4)
    flags = ["train", "--model", str(tiny_model_dir), "--precision", "fp32", "--steps", "1", "--batch-size", "2",
             "--pairs", "1,2"]
    assert main(flags) == 0
    first = record.current_round(str(tiny_model_dir))
    capsys.readouterr()
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(first["adapter_path"]).st_mode) == 0o777 & ~mask  # not mkdtemp's 0700

    def full(*a, **k):  # what safetensors raises when the disk fills up mid-write
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(peft.peft_model, "safe_save_file", full)
    code = main([*flags[:-1], "3,4"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "could not be saved" in err and "is full" in err and f"unchanged ({first['id']})" in err
    assert str(Path(first["adapter_path"]).parent) in err  # the folder that is full
    assert record.current_round(str(tiny_model_dir))["id"] == first["id"]
    assert record.rounds()[-1]["status"] == "failed"
    assert not list(Path(first["adapter_path"]).parent.glob(".round-*")), "no half-written adapter is left"
