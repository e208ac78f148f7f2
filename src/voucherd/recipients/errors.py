from voucherd.core.errors import Conflict, InvalidInput, NotFound


class RecipientsInvalid(InvalidInput):
    """Some rows cannot be accepted; ``errors`` lists each (index, field, reason)."""

    code = "invalid_recipients"


class TooManyRecipients(InvalidInput):
    code = "too_many_recipients"


class ConcurrentUpload(Conflict):
    code = "concurrent_upload"
    default_message = (
        "Another upload of some of these recipients into this campaign committed first; "
        "send the request again: recipients already uploaded get their existing codes."
    )


class RecipientNotFound(NotFound):
    code = "recipient_not_found"
    default_message = "Recipient not found."
