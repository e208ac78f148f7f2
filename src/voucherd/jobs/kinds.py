"""Importing this module registers every job handler."""

import voucherd.recipients.tasks
import voucherd.vouchers.tasks  # noqa: F401
