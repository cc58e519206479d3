"""Sending SMS: one small interface, with backends chosen by settings (as Django's email backends are).

SMS_BACKEND names the backend class:
- campaign.lib.sms.file.FileBackend (the embedded default): each message is appended to a file
  under SMS_FILE_DIR and kept in the outbox; nothing leaves the machine.
- campaign.lib.sms.locmem.LocmemBackend (tests): messages collect in `campaign.lib.sms.outbox`.
- campaign.lib.sms.alibaba.AlibabaBackend, campaign.lib.sms.tencent.TencentBackend: the providers.

A backend sends one message and says what came of it; it knows nothing of residents, kinds or
the outbox's rules (appointments.messaging owns those).
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string

# Messages the locmem backend "sent", in order (tests read and clear it).
outbox: list = []

# One SMS segment holds 70 characters when any character is Chinese (UCS-2), the sign included;
# a longer message is split into segments of 67, each charged as one message.
SEGMENT_CHARS = 70
LONG_SEGMENT_CHARS = 67


def segments(text: str) -> int:
    """How many SMS segments `text` (with its sign) is charged as; 0 for no text."""
    if not text:
        return 0
    if len(text) <= SEGMENT_CHARS:
        return 1
    return -(-len(text) // LONG_SEGMENT_CHARS)


@dataclass(frozen=True)
class Sms:
    """One message to one phone: the provider's approved template and its parameters.

    `template` is our kind's name (e.g. "reminder"); the backend maps it to the provider's template
    id (SMS_TEMPLATES). `params` are in the template's order (Tencent's templates are positional).
    `text` is the whole message as the phone shows it, the sign included (for the file backend, the
    office and the segment count). `reference` is our outbox id: the provider echoes it back
    (Alibaba's OutId, Tencent's SessionContext), which lets a stuck message be looked up.
    """

    phone: str
    template: str
    params: dict[str, str]
    text: str
    reference: str = ""


@dataclass(frozen=True)
class Sent:
    """The provider took the message: its id for the message (for delivery reports)."""

    provider_id: str


@dataclass(frozen=True)
class DeliveryReport:
    """A provider's report on one message: delivered or not, and its error code when not."""

    provider_id: str
    phone: str
    delivered: bool
    error_code: str = ""
    error_message: str = ""
    reference: str = ""
    at: object = None  # an aware datetime, when the provider says


@dataclass(frozen=True)
class Reply:
    """A text a phone sent back (回复TD退订 is an opt-out)."""

    phone: str
    text: str
    at: object = None


@dataclass
class Callback:
    """What one provider callback carried, once verified."""

    reports: list[DeliveryReport] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)


class SmsError(Exception):
    """The provider refused or could not take a message. `code` is the provider's error code."""

    # Transient errors (timeouts, the provider's own throttling, 5xx) are worth retrying later.
    transient = False

    def __init__(self, message: str = "", *, code: str = ""):
        self.code = code
        super().__init__(message or code)


class TransientError(SmsError):
    transient = True


class RateLimited(TransientError):
    """The provider throttled us (or the phone): retry later."""


class PermanentError(SmsError):
    """Retrying cannot help: a bad number, a template or sign not approved, no balance, bad keys."""


class CallbackRefused(Exception):
    """A callback that is unsigned, wrongly signed, or not one this provider sends: answered 403."""


class BaseBackend:
    """What every backend does. `name` is stored on each message it sends."""

    name = "base"
    # The JSON body the provider expects back for a callback taken (the callback view answers with it).
    callback_answer: dict = {"result": 0}

    def send(self, sms: Sms) -> Sent:
        """Send one message; returns Sent or raises SmsError (TransientError, RateLimited, PermanentError)."""
        raise NotImplementedError

    def find_sent(self, *, reference: str, phone: str, since) -> Sent | None:
        """The message with our `reference` if the provider has it (sent since `since`), else None.

        Asked before a message whose worker died in the middle of sending is sent again, so that a
        message the provider took is not sent twice. A backend that cannot tell returns None.
        """
        return None

    def parse_callback(self, request) -> Callback:
        """Verify and read a provider's HTTP callback (delivery reports, replies); raises CallbackRefused."""
        raise CallbackRefused("this backend takes no callbacks")


def get_backend(path: str | None = None) -> BaseBackend:
    """An instance of the configured backend (SMS_BACKEND), or of the one `path` names."""
    return import_string(path or settings.SMS_BACKEND)()
