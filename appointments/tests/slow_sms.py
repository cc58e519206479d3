"""A slow provider for tests of a killed worker: it writes what it takes to a file (SLOW_SMS_LOG).

Each send takes SLOW_SMS_SECONDS, half before the provider takes the message and half after (its
answer on the way back), so a worker killed in the middle may have had its message taken or not;
find_sent reads the file, as a provider's query API would.
"""

import os
import time

from campaign.lib import sms


class SlowBackend(sms.BaseBackend):
    name = "slow"

    def __init__(self, log: str | None = None):
        self.log = log or os.environ["SLOW_SMS_LOG"]
        self.seconds = float(os.environ.get("SLOW_SMS_SECONDS", "0.3"))

    def send(self, message):
        time.sleep(self.seconds / 2)
        with open(self.log, "a") as log:
            log.write(f"{message.reference}\n")
        time.sleep(self.seconds / 2)
        return sms.Sent(provider_id=f"slow-{message.reference}")

    def taken(self) -> list[str]:
        with open(self.log) as log:
            return log.read().split()

    def find_sent(self, *, reference, phone, since):
        return sms.Sent(provider_id=f"slow-{reference}") if reference in self.taken() else None
