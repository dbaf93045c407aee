"""The `[llm_server]` section: a bigger model on another machine of the house.

Used when `[understanding] llm = "server"`: the sentences the templates and
the gazetteer do not understand go to an OpenAI-compatible server
(llama.cpp's server, Ollama, vLLM) on the LAN, under the same constraint and
validation as the local model, which answers instead whenever the server
cannot (README: A bigger model on another machine).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class LlmServerConfig(BaseModel):
    """An OpenAI-compatible model server (`[understanding] llm = "server"`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(
        default=None,
        description="Base URL of the OpenAI-compatible API, e.g. http://192.168.1.20:8080/v1 "
        "(a URL without a path gets /v1). Never logged.",
    )
    model: str = Field(
        default="",
        description="Model name the server knows (Ollama, vLLM need it; llama.cpp ignores it).",
    )
    token: str | None = Field(
        default=None,
        description="API key, sent as 'Authorization: Bearer' (never shown or logged).",
    )
    timeout_seconds: float = Field(
        default=3.0,
        gt=0.0,
        le=120.0,
        description="Wait this long for an answer, then ask the local model.",
    )
    constraint: Literal["grammar", "json_schema"] = Field(
        default="grammar",
        description="How the output is constrained: a GBNF 'grammar' (llama.cpp's server) "
        "or an OpenAI 'json_schema' response format (Ollama, vLLM).",
    )
    local_model: bool = Field(
        default=True,
        description="Keep the local model loaded to answer while the server cannot.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # The value may hold credentials: the message does not repeat it.
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not hold credentials: put the API key in [llm_server] token")
        return url


def uses_local_model(llm: str, server: LlmServerConfig) -> bool:
    """Whether `[understanding] llm` (with this server section) loads the local GGUF model."""
    if llm == "off":
        return False
    return llm != "server" or server.local_model or not server.url
