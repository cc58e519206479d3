"""Tencent Cloud SMS (API 2021-01-11) through its official Python SDK, tencentcloud-sdk-python-sms.

The SDK is light (its common package and requests), signs with TC3-HMAC-SHA256, lets the endpoint
and scheme be set (http://127.0.0.1:<port> in tests), takes requests' (connect, read) timeout and
keeps connections alive. Its own retries and region breaker stay off: the outbox retries.

Tencent answers a request-level error (keys, signature, template, throttling) as Response.Error,
and each number's fate in Response.SendStatusSet (Code "Ok" or the number's error): both are read.
"""

import json
import logging
import threading
import time

from django.conf import settings
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from campaign.lib import sms
from campaign.lib.sms import common

logger = logging.getLogger(__name__)
# The SDK logs whole requests and answers (phones among them) at DEBUG: never let them through.
logging.getLogger("tencentcloud_sdk_common").setLevel(logging.WARNING)

# Our network trouble or Tencent's: retry later.
TRANSIENT = {"ClientNetworkError", "ServerNetworkError", "InternalError", "FailedOperation.MissingSignatureToModify"}
SHORT_REASONS = {
    "InvalidParameterValue.IncorrectPhoneNumber": "bad phone number",
    "FailedOperation.TemplateIncorrectOrUnapproved": "template not approved or not found",
    "FailedOperation.SignatureIncorrectOrUnapproved": "sign not approved or not found",
    "FailedOperation.InsufficientBalanceInSmsPackage": "no balance",
    "AuthFailure.SignatureFailure": "bad secret key",
    "AuthFailure.SecretIdNotFound": "bad secret id",
    "FailedOperation.PhoneNumberInBlacklist": "the phone refuses messages",
}


def error_for(code: str) -> sms.SmsError:
    """Our exception for Tencent's code (never with the phone in it)."""
    if code.startswith(("LimitExceeded", "RequestLimitExceeded")):
        return sms.RateLimited(f"{code}: throttled by Tencent", code=code)
    if code in TRANSIENT or code.startswith("InternalError"):
        return sms.TransientError(f"{code}: Tencent could not take it now", code=code)
    return sms.PermanentError(f"{code}: {SHORT_REASONS.get(code, 'refused by Tencent')}", code=code)


class TencentBackend(sms.BaseBackend):
    name = "tencent"
    # What Tencent's callbacks expect back.
    callback_answer = {"result": 0, "errmsg": "OK"}

    def __init__(self):
        common.required(
            "Tencent",
            SMS_TENCENT_SECRET_ID=settings.SMS_TENCENT_SECRET_ID,
            SMS_TENCENT_SECRET_KEY=settings.SMS_TENCENT_SECRET_KEY,
            SMS_TENCENT_SDK_APP_ID=settings.SMS_TENCENT_SDK_APP_ID,
            SMS_TENCENT_REGION=settings.SMS_TENCENT_REGION,
            SMS_SIGN_NAME=settings.SMS_SIGN_NAME,
            SMS_TENCENT_ENDPOINT=settings.SMS_TENCENT_ENDPOINT,
        )
        self.templates = common.template_ids("Tencent")
        self.app_id = settings.SMS_TENCENT_SDK_APP_ID
        self.sign_name = settings.SMS_SIGN_NAME
        scheme, host = common.endpoint(settings.SMS_TENCENT_ENDPOINT)
        self.http = HttpProfile(protocol=scheme, endpoint=host, reqTimeout=common.timeouts(), keepAlive=True)
        self.credential = credential.Credential(settings.SMS_TENCENT_SECRET_ID, settings.SMS_TENCENT_SECRET_KEY)
        self.region = settings.SMS_TENCENT_REGION
        self._local = threading.local()

    @property
    def client(self) -> sms_client.SmsClient:
        # One client (and kept-alive connection) per thread: the SDK's session is not promised to be thread-safe.
        if not hasattr(self._local, "client"):
            self._local.client = sms_client.SmsClient(
                self.credential, self.region, ClientProfile(httpProfile=self.http)
            )
        return self._local.client

    def call(self, action: str, params: dict):
        request = getattr(models, f"{action}Request")()
        request.from_json_string(json.dumps(params))
        try:
            return getattr(self.client, action)(request)
        except TencentCloudSDKException as error:
            code = error.get_code() or "ClientError"
            if code == "ClientNetworkError" and "timed out" in str(error.get_message()).lower():
                raise sms.TransientError("timeout: Tencent did not answer in time", code="timeout") from None
            raise error_for(code) from None

    def send(self, message: sms.Sms) -> sms.Sent:
        template_id = self.templates.get(message.template)
        if not template_id:
            raise sms.PermanentError(f"no-template: no approved template for {message.template}", code="no-template")
        params = {
            "PhoneNumberSet": [common.e164(message.phone)],
            "SmsSdkAppId": self.app_id,
            "SignName": self.sign_name,
            "TemplateId": template_id,
            # Tencent's templates are positional ({1}, {2}, ...): the kind's parameters in the template's order.
            "TemplateParamSet": [str(value) for value in message.params.values()],
            "SessionContext": message.reference,
        }
        answer = self.call("SendSms", params)
        statuses = answer.SendStatusSet or []
        if not statuses:
            raise sms.TransientError("no-status: Tencent gave no status for the number", code="no-status")
        status = statuses[0]
        if status.Code != "Ok":
            raise error_for(status.Code)
        logger.debug("SMS taken by Tencent: message %s", message.reference or "(no reference)")
        return sms.Sent(provider_id=status.SerialNo)

    def find_sent(self, *, reference, phone, since):
        """PullSmsSendStatusByPhoneNumber since `since`, matching SessionContext = our reference.

        Two limits, from Tencent's documents: the pull lists the messages whose delivery report has
        come (one taken but not yet reported is not found: it may be sent twice), and its
        SessionContext is empty unless Tencent enabled it for the account (ask Tencent's SMS
        support); without it this finds nothing and returns None.
        """
        if not reference:
            return None
        begin = int(since.timestamp()) if since else int(time.time()) - 86400
        offset, limit = 0, 100
        while True:
            answer = self.call(
                "PullSmsSendStatusByPhoneNumber",
                {
                    "BeginTime": begin,
                    "EndTime": int(time.time()) + 60,
                    "Offset": offset,
                    "Limit": limit,
                    "PhoneNumber": common.e164(phone),
                    "SmsSdkAppId": self.app_id,
                },
            )
            statuses = answer.PullSmsSendStatusSet or []
            for status in statuses:
                if status.SessionContext == reference:
                    return sms.Sent(provider_id=status.SerialNo)
            if len(statuses) < limit:
                return None
            offset += limit

    def parse_callback(self, request) -> sms.Callback:
        """Tencent's 短信下发状态通知 (a JSON array of reports) and 短信回复 (one reply object, or an array).

        Tencent documents no signature on these callbacks: the URL carries SMS_CALLBACK_TOKEN.
        """
        common.check_callback_token(request)
        payload = common.callback_json(request)
        items = payload if isinstance(payload, list) else [payload]
        if not items:
            raise sms.CallbackRefused("an empty callback")
        callback = sms.Callback()
        for item in items:
            if not isinstance(item, dict) or not item.get("mobile"):
                raise sms.CallbackRefused("an item without mobile")
            phone = common.local_phone(item["mobile"], str(item.get("nationcode") or "86"))
            if "sid" in item and "report_status" in item:  # 短信下发状态通知
                delivered = item["report_status"] == "SUCCESS"
                callback.reports.append(
                    sms.DeliveryReport(
                        provider_id=str(item["sid"]),
                        phone=phone,
                        delivered=delivered,
                        error_code="" if delivered else str(item.get("errmsg") or ""),
                        error_message="" if delivered else str(item.get("description") or ""),
                        at=common.beijing_time(item.get("user_receive_time")),
                    )
                )
            elif "text" in item:  # 短信回复
                callback.replies.append(
                    sms.Reply(phone=phone, text=str(item["text"]), at=common.beijing_time(item.get("time")))
                )
            else:
                raise sms.CallbackRefused("neither a delivery report nor a reply")
        return callback
