from voucherd.core.errors import InvalidInput


class InvalidRecipientEmail(InvalidInput):
    code = "invalid_email"
