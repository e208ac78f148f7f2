from tests.webhooks.conftest import loopback_allowed

__all__ = ["loopback_allowed"]
