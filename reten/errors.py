"""Domain errors. Services raise these; one DRF exception handler turns them into the error envelope."""


class DomainError(Exception):
    status_code = 400
    default_message = "Bad Request"

    def __init__(self, message=None, *, details=None, extra=None):
        self.message = message or self.default_message
        self.details = details
        self.extra = extra or {}
        super().__init__(self.message)


def validation_message(details):
    """The one wording of a validation error: "Validation failed: <first field>: <its first problem>"."""
    field, problems = next(iter(details.items()))
    problem = problems[0] if isinstance(problems, (list, tuple)) else problems
    return f"Validation failed: {problem}" if field == "non_field_errors" else f"Validation failed: {field}: {problem}"


class ValidationFailed(DomainError):
    """Input that cannot be accepted. `details` maps snake_case field names to a list of problems."""

    status_code = 400
    default_message = "Validation failed"

    @classmethod
    def of(cls, details, **kwargs):
        """Named by its first problem: ValidationFailed.of({"base_url": ["Must be an http(s) URL."]})."""
        return cls(validation_message(details), details=details, **kwargs)


class IllegalTransition(DomainError):
    """A state change the state machine does not allow from the current state."""

    status_code = 400
    default_message = "This transition is not allowed from the current status"


class NotAuthenticated(DomainError):
    status_code = 401
    default_message = "Authentication credentials were not provided or are invalid"


class PermissionDenied(DomainError):
    status_code = 403
    default_message = "You do not have permission to perform this action"


class NotFound(DomainError):
    status_code = 404
    default_message = "Not found"


class Conflict(DomainError):
    status_code = 409
    default_message = "Conflict"


class UpstreamFailed(DomainError):
    """An external provider failed or could not be reached."""

    status_code = 502
    default_message = "The provider failed"


class TooManyRequests(DomainError):
    """Too much at once from one caller (e.g. outbound calls in flight for one tenant)."""

    status_code = 429
    default_message = "Too many requests"
