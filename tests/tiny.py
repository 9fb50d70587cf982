"""Tiny models built inside the tests: a byte-level BPE tokenizer with a chat template and a
2-layer Llama (or GPT-2 / Qwen2) with random weights, saved as a Hugging Face folder. Builds
in well under a second; nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CORPUS = [
    "The lighthouse keeper climbed the stairs and lit the lamp before the storm.",
    "A cat found a map under the floorboards of the old house by the sea.",
    "She said nothing, and the wind answered for her across the dark water.",
    "Once upon a time there was a dragon who learned to knit warm scarves.",
    "The ship sailed north; the crew sang; the captain watched the ice.",
]


def make_tokenizer(vocab_size: int = 400, chat_template: bool = True):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   unk_token="<|endoftext|>", pad_token="<|endoftext|>")
    if chat_template:
        fast.chat_template = CHAT_TEMPLATE
    return fast


def make_tiny_model(path: str | Path, arch: str = "llama", seed: int = 0, chat_template: bool = True,
                    max_positions: int = 512) -> Path:
    """Save a tiny random causal LM with its tokenizer under ``path`` and return the path."""
    import torch
    from transformers import AutoModelForCausalLM

    path = Path(path)
    tok = make_tokenizer(chat_template=chat_template)
    vocab = len(tok)
    torch.manual_seed(seed)
    if arch == "llama":
        from transformers import LlamaConfig

        cfg = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=max_positions,
                          tie_word_embeddings=True)
    elif arch == "gpt2":
        from transformers import GPT2Config

        cfg = GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=4, n_positions=max_positions,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    elif arch == "qwen2":
        from transformers import Qwen2Config

        cfg = Qwen2Config(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=max_positions)
    else:
        raise ValueError(arch)
    cfg.pad_token_id = tok.pad_token_id
    cfg.eos_token_id = tok.eos_token_id
    cfg.bos_token_id = tok.bos_token_id
    model = AutoModelForCausalLM.from_config(cfg)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def make_tiny_encoder(path: str | Path, seed: int = 0) -> Path:
    """Save a tiny random BERT-style encoder (2 layers, hidden 32) with a character-level
    WordPiece vocabulary under ``path``: a stand-in for MiniLM in the reader critic's tests."""
    import string

    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    chars = string.ascii_lowercase + string.digits + string.punctuation
    words = sorted({w.strip(string.punctuation).lower() for line in CORPUS for w in line.split()} - {""})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars), *words]
    wp = Tokenizer(models.WordPiece(vocab={t: i for i, t in enumerate(dict.fromkeys(vocab))}, unk_token="[UNK]"))
    wp.normalizer = normalizers.BertNormalizer(lowercase=True)
    wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok = PreTrainedTokenizerFast(tokenizer_object=wp, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                                  pad_token="[PAD]", mask_token="[MASK]")
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=512)
    BertModel(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path
