"""Training with shared prefixes (``[train] shared_prefix``) computes the loss of full sequences.

Real parts: the data generator's examples and the GGUF base the runtime
ships, loaded by transformers with a fresh LoRA (peft), as `assistant train`
does.  With dropout off, the loss of a batch whose home's system part is
evaluated once and reused from the cache must equal the loss of the same
examples as whole sequences: otherwise the trick trains something else.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from assistant.training.dataset import DataConfig, write_dataset
from assistant.training.finetune import _collate, _encode, _pad_id, load_base, locate_base
from assistant.training.prefix import encode_prefixed, prefixed_batches, prefixed_loss
from assistant.training.recipe import load_recipe

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "models" / "training" / "tiny.toml"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_the_shared_prefix_loss_is_the_full_sequence_loss(tmp_path: Path) -> None:
    write_dataset(DataConfig(seed=3, homes=3, paraphrases_per_home=6), tmp_path)
    records = [json.loads(line) for line in (tmp_path / "train.jsonl").open(encoding="utf-8")]
    tokenizer, model = load_base(locate_base(load_recipe(TINY)))
    lora = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    model = peft.get_peft_model(model, lora)
    for module in model.modules():  # a LoRA that changes the outputs (B starts at zero)
        if hasattr(module, "lora_B"):
            for weight in module.lora_B.values():
                torch.nn.init.normal_(weight.weight, std=0.02)
    model.eval()
    pad = _pad_id(tokenizer)
    data = encode_prefixed(tokenizer, records, 320)
    batch = next(prefixed_batches(data, 4, random.Random(1)))
    assert len(batch) == 4
    assert len({example.group for example in batch}) == 1  # one home per batch
    # The same records, as whole sequences.
    chosen = [records[next(i for i, x in enumerate(data.examples) if x is e)] for e in batch]
    ids, labels, mask = _collate(torch, [_encode(tokenizer, r, 320) for r in chosen], pad, "cpu")
    with torch.no_grad():
        full = float(model(input_ids=ids, attention_mask=mask, labels=labels).loss)
        shared, _ = prefixed_loss(torch, model, data, batch, pad)
    assert full > 0.1
    assert float(shared) == pytest.approx(full, rel=1e-3)
