from voucherd.core.errors import Conflict, InvalidInput, NotFound


class CampaignNotFound(NotFound):
    code = "campaign_not_found"
    default_message = "Campaign not found."


class CodeSpaceTooSmall(InvalidInput):
    code = "code_space_too_small"


class LandingSlugTaken(Conflict):
    code = "landing_slug_taken"
    default_message = "Another campaign already uses this landing_slug."


class CampaignNameTaken(Conflict):
    code = "campaign_name_taken"
    default_message = "Another campaign already has this name."
