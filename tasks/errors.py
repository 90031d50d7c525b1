"""The errors a job kind may raise. Each class's docstring is its default message."""

from __future__ import annotations


class JobError(Exception):
    """The job failed."""

    code = "job_error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        super().__init__(self.message)

    @property
    def details(self) -> dict[str, object] | None:
        """Structured facts about the failure, kept with the failed job (None: only the
        message)."""
        return None


class RetryableError(JobError):
    """A passing fault; the job will be tried again."""

    code = "retryable_error"


class PermanentError(JobError):
    """The job cannot succeed as submitted."""

    code = "permanent_error"


class InvalidInput(PermanentError):
    """The input file is missing, empty or unreadable."""

    code = "invalid_input"


class UnsupportedFormat(PermanentError):
    """The input's format is not supported for this job."""

    code = "unsupported_format"


class InputTooLarge(PermanentError):
    """The input is larger than this farm accepts."""

    code = "input_too_large"


class InputFetchFailed(RetryableError):
    """The input URL could not be fetched."""

    code = "input_fetch_failed"


class InputForbidden(PermanentError):
    """The input URL points at an address this farm does not fetch from."""

    code = "input_forbidden"


class ModelUnavailable(PermanentError):
    """The content model could not be reached or gave no usable answer."""

    code = "model_unavailable"


class InfeasibleDesign(PermanentError):
    """The design cannot be produced as requested."""

    code = "infeasible_design"

    def __init__(self, reasons: list[str] | None = None) -> None:
        self.reasons = list(reasons or [])
        super().__init__("; ".join(self.reasons) or None)

    @property
    def details(self) -> dict[str, object] | None:
        return {"reasons": self.reasons}
