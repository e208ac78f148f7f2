from voucherd.core.errors import NotFound


class EndpointNotFound(NotFound):
    code = "webhook_not_found"
    default_message = "Webhook not found."


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    default_message = "Webhook delivery not found."
