"""Importing this module registers every job handler."""

import voucherd.vouchers.tasks  # noqa: F401
