from voucherd.core.errors import NotFound


class JobNotFound(NotFound):
    code = "job_not_found"
    default_message = "Job not found."
