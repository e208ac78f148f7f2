from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voucherd.models import WebhookEndpoint


@dataclass(frozen=True)
class EndpointInput:
    name: str
    url: str
    events: list[str]
    enabled: bool = True
    payload_format: str = "vouchertrack"


@dataclass(frozen=True)
class EndpointChanges:
    """Only the fields present change."""

    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


@dataclass(frozen=True)
class RotatedSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once
