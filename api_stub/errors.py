"""The errors every dialect answers, each in its own shape.

The front door, the gate and the shared dependencies raise these; a dialect's
renderer (`api_stub.dialect.Dialect`) turns each class into its body and status.
Routes may still raise their dialect's own exception for errors only it knows
(fractal3d's NotSupported, smartmanu's 5003). The class docstring is the default
message.
"""

from __future__ import annotations


class ApiError(Exception):
    """the request failed"""

    status = 500

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        self.message = message or (type(self).__doc__ or "error").strip()
        self.is_default = message is None
        self.field = field
        self.headers = dict(headers or {})
        # Every field at fault, for dialects that list them all: [{"field", "message"}].
        self.details = details
        super().__init__(self.message)


class InvalidInput(ApiError):
    """the request is not valid"""

    status = 400


class Unauthenticated(ApiError):
    """valid credentials are required"""

    status = 401


class Forbidden(ApiError):
    """the credentials do not allow this"""

    status = 403


class NotFound(ApiError):
    """no such resource"""

    status = 404


class MethodNotAllowed(ApiError):
    """this method is not allowed here"""

    status = 405


class RequestTimeout(ApiError):
    """the request body did not arrive in time"""

    status = 408


class PayloadTooLarge(ApiError):
    """the request body is too large"""

    status = 413


class TooManyRequests(ApiError):
    """too many requests"""

    status = 429

    def __init__(self, message: str | None = None, *, retry_after_s: int, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after_s = retry_after_s
        self.headers.setdefault("Retry-After", str(retry_after_s))


class Unavailable(ApiError):
    """the service is briefly unavailable; try again shortly"""

    status = 503

    def __init__(self, message: str | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.headers.setdefault("Retry-After", "5")


class Internal(ApiError):
    """an unexpected error occurred"""

    status = 500


BY_STATUS: dict[int, type[ApiError]] = {
    cls.status: cls
    for cls in (
        InvalidInput,
        Unauthenticated,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        PayloadTooLarge,
        Unavailable,
        Internal,
    )
}


def from_status(status: int, message: str | None = None) -> ApiError:
    """The error class for an HTTP status raised by the framework (404, 405, ...)."""
    if status == 429:
        return TooManyRequests(message, retry_after_s=1)
    cls = BY_STATUS.get(status, InvalidInput if 400 <= status < 500 else Internal)
    error = cls(message)
    error.status = status if cls is InvalidInput and 400 <= status < 500 else cls.status
    return error
