"""GGUF LoRA adapter -> peft adapter directory: llama.cpp's conversion, undone.

The package ships only the GGUF adapter.  `assistant train home --from` goes
on training a peft adapter, so the GGUF one is turned back into one: each
``blk.N.<tensor>.weight.lora_a/lora_b`` becomes peft's
``base_model.model.model.layers.N.<module>.lora_A/lora_B.weight``, with
llama.cpp's rotary re-ordering of the query and key rows (its converter's
``LlamaModel.permute`` on ``lora_b``) reversed, and alpha read back from
``adapter.lora.alpha``.  Weights come back as the GGUF stored them (f16).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from assistant.errors import UserError

# llama.cpp's tensor name -> (peft's block, module) for the llama architecture.
MODULES = {
    "attn_q": ("self_attn", "q_proj"),
    "attn_k": ("self_attn", "k_proj"),
    "attn_v": ("self_attn", "v_proj"),
    "attn_output": ("self_attn", "o_proj"),
    "ffn_gate": ("mlp", "gate_proj"),
    "ffn_up": ("mlp", "up_proj"),
    "ffn_down": ("mlp", "down_proj"),
}
_NAME = re.compile(r"blk\.(\d+)\.(\w+)\.weight\.lora_([ab])")


def unpermute(weights: Any, heads: int) -> Any:
    """Rows back in Hugging Face's order (the inverse of llama.cpp's `permute`)."""
    shape = weights.shape
    return (
        weights.reshape(heads, shape[0] // heads // 2, 2, *shape[1:]).swapaxes(1, 2).reshape(shape)
    )


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def open_adapter(gguf_path: Path, flag: str = "--from") -> Any:
    """The GGUF reader of a llama LoRA adapter; UserError naming the problem otherwise."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(gguf_path))
    except Exception as error:  # noqa: BLE001 - the reader raises anything on a broken file
        why = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"{flag} {gguf_path}: not a readable GGUF file ({why})") from None
    if _field(reader, "general.type") != "adapter" or _field(reader, "adapter.type") != "lora":
        raise UserError(f"{flag} {gguf_path}: a GGUF file but not a LoRA adapter")
    if _field(reader, "general.architecture") != "llama":
        raise UserError(f"{flag} {gguf_path}: only llama adapters can be trained further")
    return reader


def gguf_to_peft(gguf_path: Path, base_hf: Path, out: Path) -> Path:
    """Write the peft adapter (config + safetensors) of a GGUF LoRA adapter into `out`; `out`."""
    import torch
    from safetensors.torch import save_file

    reader = open_adapter(gguf_path)
    config = json.loads((base_hf / "config.json").read_text(encoding="utf-8"))
    heads = {
        "attn_q": config["num_attention_heads"],
        "attn_k": config.get("num_key_value_heads", config["num_attention_heads"]),
    }
    tensors: dict[str, Any] = {}
    targets: set[str] = set()
    rank = 0
    for tensor in reader.tensors:
        match = _NAME.fullmatch(tensor.name)
        if match is None or match.group(2) not in MODULES:
            raise UserError(f"{gguf_path}: unexpected tensor {tensor.name}")
        layer, kind, half = match.groups()
        block, module = MODULES[kind]
        # numpy's shape is (rows, columns) already: peft's (out, in) for both halves.
        weight = torch.from_numpy(tensor.data.copy())
        if half == "b" and kind in heads:
            weight = unpermute(weight, heads[kind])
        else:
            rank = rank or int(weight.shape[0])
        targets.add(module)
        key = f"base_model.model.model.layers.{layer}.{block}.{module}.lora_{half.upper()}.weight"
        tensors[key] = weight.contiguous()
    if not tensors:
        raise UserError(f"{gguf_path}: no LoRA tensors")
    alpha = _field(reader, "adapter.lora.alpha")
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "adapter_model.safetensors"))
    peft_config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": str(base_hf),
        "r": rank,
        "lora_alpha": float(alpha) if alpha is not None else float(rank),
        "lora_dropout": 0.0,
        "target_modules": sorted(targets),
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": False,
    }
    (out / "adapter_config.json").write_text(json.dumps(peft_config, indent=2) + "\n")
    return out
