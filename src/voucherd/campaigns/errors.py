from voucherd.core.errors import InvalidInput, NotFound


class CampaignNotFound(NotFound):
    code = "campaign_not_found"
    default_message = "Campaign not found."


class CodeSpaceTooSmall(InvalidInput):
    code = "code_space_too_small"
