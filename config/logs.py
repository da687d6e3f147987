"""Logging pieces the settings name: what an expected refusal looks like in the log."""

import logging


class ExpectedRefusalFilter(logging.Filter):
    """An expected 403 or 404 logs one line, not a traceback.

    Django logs a refused request (PermissionDenied, Http404) with its exception; the
    policy answers that way by design, so the traceback tells nobody anything. Server
    errors keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in (403, 404):
            record.exc_info = None
            record.exc_text = None
        return True
