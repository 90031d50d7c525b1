"""Logging set-up shared by every role of the farm, and the filter that keeps secrets
carried in URLs (tokens, signatures, keys) out of the web server's logs."""

from __future__ import annotations

import logging
import re

from config.settings import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"
REDACTED = "[redacted]"
# uvicorn's access lines, and its error logger's WebSocket lines, carry path and query.
URL_LOGGERS = ("uvicorn.access", "uvicorn.error")
QUERY_PAIR = re.compile(r"(?P<lead>[?&;])(?P<name>[^=&;?#\s\"']+)=(?P<value>[^&;#\s\"']*)")
# A query name is secret if it is, or ends (after "_", "-" or "."), with one of these:
# `token`, `access_token`, `X-Amz-Signature`, `api_key`, `client_secret`, `sig`, ...
SECRET_NAME = re.compile(
    r"(?:.*[_.-])?(?:token|signature|sig|secret|password|passwd|api_?key|key|credential|auth)",
    re.IGNORECASE,
)


def redact_query_secrets(text: str) -> str:
    """`text` with the value of every secret-looking query parameter replaced by
    `REDACTED`; other parameters, and everything outside query strings, left as they are."""

    def redacted(pair: re.Match[str]) -> str:
        if not pair["value"] or not SECRET_NAME.fullmatch(pair["name"]):
            return pair[0]
        return f"{pair['lead']}{pair['name']}={REDACTED}"

    return QUERY_PAIR.sub(redacted, text)


class RedactQuerySecrets(logging.Filter):
    """Rewrites a record's message and string arguments with `redact_query_secrets`;
    never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_query_secrets(a) if isinstance(a, str) else a for a in record.args
            )
        return True


def install_redaction(names: tuple[str, ...] = URL_LOGGERS) -> None:
    """Put `RedactQuerySecrets` on the loggers `names`, once each."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQuerySecrets) for f in logger.filters):
            logger.addFilter(RedactQuerySecrets())


def setup_logging(settings: Settings) -> None:
    """Send the farm's logs to stderr at the configured level, with query secrets
    redacted from the web server's lines."""
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
    install_redaction()
