"""peft adapter -> GGUF LoRA adapter, with llama.cpp's own ``convert_lora_to_gguf.py``.

The converter ships in llama-cpp-python's source distribution (with the
``conversion`` and ``gguf-py`` packages it imports).  ``find_converter``
looks where ``fetch_converter`` unpacks it; ``fetch_converter`` downloads the
sdist of the installed llama-cpp-python version with pip (the ordinary
client) and unpacks only the converter's files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

from assistant.errors import UserError

SCRIPT = "convert_lora_to_gguf.py"
_PARTS = ("convert_lora_to_gguf.py", "convert_hf_to_gguf.py", "conversion/", "gguf-py/")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "assistant" / "llama.cpp"


def find_converter() -> Path | None:
    """The converter script: $ASSISTANT_LORA_CONVERTER, else the cache; None if neither."""
    named = os.environ.get("ASSISTANT_LORA_CONVERTER")
    if named:
        return Path(named)
    for candidate in sorted(CACHE.glob(f"*/vendor/llama.cpp/{SCRIPT}")):
        return candidate
    return None


def fetch_converter(version: str | None = None) -> Path:
    """Download llama-cpp-python's sdist and unpack the converter into the cache."""
    version = version or metadata.version("llama_cpp_python")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"llama-cpp-python=={version}", "-d", tmp],
            check=True,
        )  # fmt: skip
        archive = next(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        with tarfile.open(archive) as tar:
            wanted = [
                m
                for m in tar.getmembers()
                if any(f"/vendor/llama.cpp/{part}" in m.name for part in _PARTS)
            ]
            tar.extractall(CACHE, members=wanted, filter="data")
    found = find_converter()
    if found is None:
        raise UserError(f"llama-cpp-python {version}'s sdist has no {SCRIPT}")
    return found


def convert_adapter(adapter: Path, base_hf: Path, outfile: Path, outtype: str = "f16") -> Path:
    """Write the GGUF LoRA adapter of a peft adapter directory; its path."""
    script = find_converter() or fetch_converter()
    result = subprocess.run(
        [sys.executable, str(script), "--base", str(base_hf), "--outtype", outtype,
         "--outfile", str(outfile), str(adapter)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0 or not outfile.is_file():
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"{SCRIPT} failed: {tail[0]}")
    return outfile
