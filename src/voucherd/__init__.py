"""voucherd: a self-hosted voucher platform."""

__version__ = "0.1.0"
