"""The embedded default: each message is one JSON line in SMS_FILE_DIR/<YYYY-MM-DD>.jsonl; nothing leaves the machine.

The office reads the files (and the outbox page). The phone is written masked (138****5678); the
text is written whole, as the outbox keeps it. The log names the reference only, never the phone or text.
"""

import datetime
import fcntl
import json
import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from campaign.lib import sms
from campaign.lib.masking import mask_phone

logger = logging.getLogger(__name__)


class FileBackend(sms.BaseBackend):
    name = "file"

    def __init__(self, directory=None):
        self.directory = Path(directory or settings.SMS_FILE_DIR)

    def day_file(self, day: datetime.date) -> Path:
        return self.directory / f"{day.isoformat()}.jsonl"

    def send(self, message: sms.Sms) -> sms.Sent:
        sent = sms.Sent(provider_id=f"file-{uuid.uuid4()}")
        now = timezone.localtime()
        line = {
            "time": now.isoformat(timespec="seconds"),
            "reference": message.reference,
            "phone": mask_phone(message.phone),
            "template": message.template,
            "text": message.text,
            "segments": sms.segments(message.text),
            "provider_id": sent.provider_id,
        }
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(self.day_file(now.date()), "ab") as file:
                # Several workers append to the same day's file: one whole line at a time.
                fcntl.flock(file, fcntl.LOCK_EX)
                file.write(data)
        except OSError as error:
            raise sms.TransientError(f"cannot write the SMS file: {error.strerror}", code="file") from None
        logger.debug("SMS written to the file: message %s", message.reference or "(no reference)")
        return sent

    def find_sent(self, *, reference, phone, since):
        """The line written for `reference` in the day files since `since` (a resend after a crash is not doubled)."""
        if not reference:
            return None
        day = timezone.localtime(since).date() if since else timezone.localdate()
        today = timezone.localdate()
        needle = json.dumps(reference, ensure_ascii=False)
        while day <= today:
            path = self.day_file(day)
            if path.exists():
                with open(path, encoding="utf-8") as file:
                    for text in file:
                        if needle not in text:  # most lines are not it: skip the JSON parse
                            continue
                        line = json.loads(text)
                        if line.get("reference") == reference:
                            return sms.Sent(provider_id=line["provider_id"])
            day += datetime.timedelta(days=1)
        return None
