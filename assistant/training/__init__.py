"""Training data and fine-tuning for the distilled home-control model (issue 9).

Everything that builds data is pure Python with the runtime dependencies
(hassil, the intents package); only ``finetune`` needs the ``train`` extra
(torch, transformers, peft, gguf), and it imports them lazily.
"""
