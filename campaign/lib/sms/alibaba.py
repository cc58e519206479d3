"""Alibaba Cloud SMS (dysmsapi, version 2017-05-25) through its documented RPC HTTP API.

Why not the official SDK (alibabacloud-dysmsapi20170525): it pulls in 24 packages and ~50 MB
(aiohttp, cryptography, APScheduler, websocket-client, darabonba-core...) for two calls. The RPC
API is one signed form POST: the common parameters, HMAC-SHA1 over the sorted, RFC 3986-encoded
parameters ("POST&%2F&" + encoded query), key = AccessKeySecret + "&" (Alibaba's "RPC signature",
SignatureVersion 1.0). It goes through requests (already here for Tencent's SDK): a kept-alive
session and separate connect/read timeouts.

Errors: Alibaba answers a business error with HTTP 200 and its Code (isv.*), an API error
(signature, keys, throttling) with 4xx and its Code, and its own failure with 5xx or isp.*.
"""

import base64
import datetime
import hashlib
import hmac
import json
import logging
import threading
import urllib.parse
import uuid

import requests
from django.conf import settings

from campaign.lib import sms
from campaign.lib.sms import common

logger = logging.getLogger(__name__)

VERSION = "2017-05-25"

# The provider throttled us or the phone: retry later.
RATE_LIMITED = {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.MINUTE_LIMIT_CONTROL"}
# Alibaba's own trouble: retry later. (SignatureNonceUsed: the next try has a new nonce.)
TRANSIENT = {"isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR", "ServiceUnavailable", "InternalError", "SignatureNonceUsed"}
# Anything else (isv.MOBILE_NUMBER_ILLEGAL, isv.SMS_TEMPLATE_ILLEGAL, isv.SMS_SIGNATURE_ILLEGAL,
# isv.AMOUNT_NOT_ENOUGH, isv.OUT_OF_SERVICE, SignatureDoesNotMatch, InvalidAccessKeyId.NotFound ...) is permanent.
SHORT_REASONS = {
    "isv.MOBILE_NUMBER_ILLEGAL": "bad phone number",
    "isv.SMS_TEMPLATE_ILLEGAL": "template not approved or not found",
    "isv.SMS_SIGNATURE_ILLEGAL": "sign not approved or not found",
    "isv.AMOUNT_NOT_ENOUGH": "no balance",
    "isv.OUT_OF_SERVICE": "account stopped (no balance)",
    "SignatureDoesNotMatch": "bad access key secret",
    "InvalidAccessKeyId.NotFound": "bad access key id",
}


def percent(text: str) -> str:
    """RFC 3986 encoding as the signature wants it: space %20, * %2A, ~ kept."""
    return urllib.parse.quote(str(text), safe="~")


def signature(params: dict, secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{percent(key)}={percent(value)}" for key, value in sorted(params.items()))
    to_sign = f"{method}&{percent('/')}&{percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def nonce() -> str:
    return uuid.uuid4().hex


def error_for(code: str, status: int = 200) -> sms.SmsError:
    """Our exception for Alibaba's code (never with the phone in it)."""
    reason = SHORT_REASONS.get(code, "refused by Alibaba")
    if code in RATE_LIMITED or code.startswith("Throttling"):
        return sms.RateLimited(f"{code}: throttled by Alibaba", code=code)
    if code in TRANSIENT or code.startswith(("isp.", "InternalError")) or status >= 500:
        return sms.TransientError(f"{code}: Alibaba could not take it now", code=code)
    return sms.PermanentError(f"{code}: {reason}", code=code)


class AlibabaBackend(sms.BaseBackend):
    name = "alibaba"
    # What Alibaba's HTTP batch push expects back for callbacks taken.
    callback_answer = {"code": 0, "msg": "接收成功"}

    def __init__(self):
        common.required(
            "Alibaba",
            SMS_ALIBABA_ACCESS_KEY_ID=settings.SMS_ALIBABA_ACCESS_KEY_ID,
            SMS_ALIBABA_ACCESS_KEY_SECRET=settings.SMS_ALIBABA_ACCESS_KEY_SECRET,
            SMS_SIGN_NAME=settings.SMS_SIGN_NAME,
            SMS_ALIBABA_ENDPOINT=settings.SMS_ALIBABA_ENDPOINT,
        )
        self.templates = common.template_ids("Alibaba")
        self.key_id = settings.SMS_ALIBABA_ACCESS_KEY_ID
        self.secret = settings.SMS_ALIBABA_ACCESS_KEY_SECRET
        self.sign_name = settings.SMS_SIGN_NAME
        scheme, host = common.endpoint(settings.SMS_ALIBABA_ENDPOINT)
        self.url = f"{scheme}://{host}/"
        self.timeout = common.timeouts()
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        # One kept-alive connection per thread (a requests Session is not promised to be thread-safe).
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def call(self, action: str, params: dict) -> dict:
        """Alibaba's JSON answer to one signed call whose Code is OK; raises SmsError otherwise."""
        signed = {
            "AccessKeyId": self.key_id,
            "Action": action,
            "Format": "JSON",
            "RegionId": "cn-hangzhou",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce(),
            "SignatureVersion": "1.0",
            "Timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": VERSION,
            **params,
        }
        signed["Signature"] = signature(signed, self.secret)
        try:
            response = self.session.post(self.url, data=signed, timeout=self.timeout)
        except requests.Timeout:
            raise sms.TransientError("timeout: Alibaba did not answer in time", code="timeout") from None
        except requests.ConnectionError:
            raise sms.TransientError("connection: cannot reach Alibaba", code="connection") from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        code = answer.get("Code", "") if isinstance(answer, dict) else ""
        if response.status_code >= 500 and not code:
            raise sms.TransientError(
                f"http-{response.status_code}: Alibaba failed", code=f"http-{response.status_code}"
            )
        if not code:
            raise sms.TransientError(f"http-{response.status_code}: no answer from Alibaba", code="no-answer")
        if code != "OK":
            raise error_for(code, response.status_code)
        return answer

    def send(self, message: sms.Sms) -> sms.Sent:
        template_id = self.templates.get(message.template)
        if not template_id:
            raise sms.PermanentError(f"no-template: no approved template for {message.template}", code="no-template")
        params = {
            "PhoneNumbers": message.phone,
            "SignName": self.sign_name,
            "TemplateCode": template_id,
            "TemplateParam": json.dumps(message.params, ensure_ascii=False),
        }
        if message.reference:
            params["OutId"] = message.reference
        answer = self.call("SendSms", params)
        logger.debug("SMS taken by Alibaba: message %s", message.reference or "(no reference)")
        return sms.Sent(provider_id=answer.get("BizId", ""))

    def find_sent(self, *, reference, phone, since):
        """QuerySendDetails for the phone on each day since `since` (Beijing), matching OutId = our reference.

        Alibaba's details carry no BizId: the Sent found has provider_id "" (the delivery report's
        out_id, DeliveryReport.reference, still names our message).
        """
        if not reference:
            return None
        day = (since or datetime.datetime.now(datetime.UTC)).astimezone(common.BEIJING).date()
        today = datetime.datetime.now(common.BEIJING).date()
        while day <= today:
            page = 1
            while True:
                answer = self.call(
                    "QuerySendDetails",
                    {
                        "PhoneNumber": phone,
                        "SendDate": day.strftime("%Y%m%d"),
                        "PageSize": "50",
                        "CurrentPage": str(page),
                    },
                )
                details = (answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
                if any(detail.get("OutId") == reference for detail in details):
                    return sms.Sent(provider_id="")
                if not details or page * 50 >= int(answer.get("TotalCount") or 0):
                    break
                page += 1
            day += datetime.timedelta(days=1)
        return None

    def parse_callback(self, request) -> sms.Callback:
        """Alibaba's HTTP batch push: SmsReport (delivery reports) and SmsUp (replies), each a JSON array.

        Alibaba documents no signature on its HTTP push: the URL carries SMS_CALLBACK_TOKEN.
        """
        common.check_callback_token(request)
        items = common.callback_json(request)
        if not isinstance(items, list) or not items:
            raise sms.CallbackRefused("not a JSON array of reports or replies")
        callback = sms.Callback()
        for item in items:
            if not isinstance(item, dict) or not item.get("phone_number"):
                raise sms.CallbackRefused("an item without phone_number")
            if "biz_id" in item and "success" in item:  # SmsReport
                delivered = item["success"] is True or str(item["success"]).lower() == "true"
                callback.reports.append(
                    sms.DeliveryReport(
                        provider_id=str(item["biz_id"]),
                        phone=common.local_phone(item["phone_number"]),
                        delivered=delivered,
                        error_code="" if delivered else str(item.get("err_code") or ""),
                        error_message="" if delivered else str(item.get("err_msg") or ""),
                        reference=str(item.get("out_id") or ""),
                        at=common.beijing_time(item.get("report_time")),
                    )
                )
            elif "content" in item:  # SmsUp
                callback.replies.append(
                    sms.Reply(
                        phone=common.local_phone(item["phone_number"]),
                        text=str(item["content"]),
                        at=common.beijing_time(item.get("send_time")),
                    )
                )
            else:
                raise sms.CallbackRefused("neither a delivery report nor a reply")
        return callback
