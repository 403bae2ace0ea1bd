"""Tiny random chat models built offline from a config: real transformers checkpoints for tests and
CPU smoke runs of the GPU scripts (no download, a few MB, generate in milliseconds).

    from models.tiny import build_tiny_model
    path = build_tiny_model(tmp_dir / "tiny-llama", arch="llama")   # or "qwen2"

The tokenizer is a byte-level BPE trained on the task's own prompts, with ChatML special tokens and
a ChatML chat template, so prompts are short and every string round-trips.
"""

from __future__ import annotations

from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
ARCHS = ("llama", "qwen2")


def build_tiny_tokenizer(vocab_size: int = 512):
    """A byte-level BPE tokenizer trained on the system prompt, the user template and the test prompts."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from scheduler import SYSTEM_PROMPT, USER_TEMPLATE, load_split

    corpus = [SYSTEM_PROMPT, USER_TEMPLATE] + [row["prompt"] for row in load_split("test", prefer_hub=False)]
    corpus += ["<think>\n</think>\n<schedule>\n<event>\n<name></name>\n<start></start>\n<end></end>\n</event>\n</schedule>"]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|im_end|>",
        unk_token="<|endoftext|>", chat_template=CHATML_TEMPLATE, padding_side="left",
    )


def build_tiny_model(out_dir: str | Path, arch: str = "llama", seed: int = 0, hidden_size: int = 64,
                     initializer_range: float = 0.2) -> Path:
    """Save a random ``arch`` model (2 layers) with the tiny tokenizer in ``out_dir``; returns the path.

    The wide ``initializer_range`` gives logits with clear margins: greedy output then depends on the
    prompt (with the usual 0.02 every prompt gets the same newlines) and is stable across batchings.
    """
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig, Qwen2Config

    if arch not in ARCHS:
        raise ValueError(f"Unknown tiny architecture {arch!r}; choose from {ARCHS}.")
    out = Path(out_dir)
    tokenizer = build_tiny_tokenizer()
    common = dict(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096, initializer_range=initializer_range,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    config = LlamaConfig(**common, tie_word_embeddings=True) if arch == "llama" else Qwen2Config(**common, tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out
