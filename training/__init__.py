"""Training: cold-start SFT (``training/sft.py``) and GRPO (``training/grpo.py``) with TRL + peft.

The scripts are thin TRL-style entry points; the shared pieces live here: problem datasets
(``data``), model/adapter helpers (``common``), the JSONL training log and its plot (``log``),
and the model card (``card``). Nothing heavy is imported at package import time.
"""
