"""Messages to residents and staff (SMS): the outbox, its kinds, and when each is sent.

models.py    the outbox (Message), opt-outs (OptOut), the office's per-campaign switches (KindSwitch)
kinds.py     each kind's template, its parameters and the rule checked again just before sending
services.py  queueing, the send state machine, quiet hours, retries, the sweep, delivery reports
tasks.py     the Celery tasks, on their own queue ("messages")

The transport (file, Alibaba Cloud, Tencent Cloud) is campaign.lib.sms.
"""
