"""The project's exception tree.

Layer: pure core (the innermost module; everything may import it)::

    GridWatchError
    ├── DecodeError        an MQTT payload or topic that cannot be used (-> dead letter)
    ├── SiteError          a site file that does not validate (file, path, what is wrong)
    ├── StoreError         a store adapter failed (third-party error translated at the edge)
    │   └── StoreUnavailable   the store cannot be reached now; the caller may retry or spool
    ├── NotifyError        a notification channel failed; ``retryable`` says whether to retry
    └── ConfigError        settings that do not validate
"""

from __future__ import annotations


class GridWatchError(Exception):
    """Root of every error GridWatch raises on purpose."""


class DecodeError(GridWatchError):
    """A message that cannot become a reading.

    Attributes:
        reason: a short machine-readable reason, used to count dead letters
            (``not_json``, ``wrong_type``, ``out_of_range``, ``unknown_device``, ...).
        detail: a sentence for a person.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class SiteError(GridWatchError):
    """A site file that does not validate; the message names file, path and problem."""


class StoreError(GridWatchError):
    """A store adapter failed."""


class AlarmStoreBusy(StoreError):
    """The alarm store did not commit a person's command in time (it refuses writes)."""


class StoreUnavailable(StoreError):
    """The store cannot be reached now; the caller may retry later or spool."""


class NotifyError(GridWatchError):
    """A notification could not be delivered.

    Attributes:
        retryable: True when trying the same channel again later may succeed.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class ConfigError(GridWatchError):
    """Settings that do not validate."""
