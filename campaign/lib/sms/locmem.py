"""A backend for tests: messages collect in campaign.lib.sms.outbox, nothing is sent."""

import itertools

from campaign.lib import sms

_ids = itertools.count(1)


class LocmemBackend(sms.BaseBackend):
    name = "locmem"

    def send(self, message: sms.Sms) -> sms.Sent:
        sms.outbox.append(message)
        return sms.Sent(provider_id=f"locmem-{next(_ids)}")

    def find_sent(self, *, reference, phone, since):
        found = [m for m in sms.outbox if m.reference == reference and reference]
        return sms.Sent(provider_id=f"locmem-found-{reference}") if found else None
