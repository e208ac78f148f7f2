from voucherd.core.errors import Conflict, NotFound


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    default_message = "Customer not found."


class ExternalIdTaken(Conflict):
    code = "external_id_taken"
    default_message = "Another customer already has this external_id."
