"""Local stand-ins for Alibaba Cloud SMS and Tencent Cloud SMS: they check requests as documented and answer likewise.

Each checks the path, the action and version, the required parameters, the timestamp, the nonce and
the signature, recomputed here from the providers' documents with the same secret (not with the
backends' code), and answers with the providers' JSON shapes and error codes. Scripted troubles:
`phone_errors` (a per-phone code: rate limited, bad number), `template_errors` (not approved),
`fail_next` (that many 5xx answers), `throttle_per_second` (the API's flow control past N a second),
`delay` (seconds before answering, for timeouts; 0 by default: no sleep).

`accepted` lists every message taken (and `log`, a JSONL file, gets one line each) for the benchmark.

    with AlibabaServer().start(18115) as server: ...
    python -m campaign.tests.sms_providers alibaba --port 18115 --log /tmp/provider.jsonl
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import itertools
import json
import re
import socket
import threading
import time
import uuid
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")
UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")

ALIBABA_KEY_ID = "LTAI5tLocalTestKey"
ALIBABA_SECRET = "local-alibaba-secret"
TENCENT_SECRET_ID = "AKIDLocalTestSecretId"
TENCENT_SECRET_KEY = "local-tencent-secret-key"
TENCENT_SDK_APP_ID = "1400000001"


class Answer(Exception):
    """An early answer: (HTTP status, JSON body)."""

    def __init__(self, status: int, body):
        self.status, self.body = status, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the benchmark's workers reuse their connections

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and the client's delayed ACK cost 40 ms a request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # quiet
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, answer = self.server.provider.answer(self.command, self.path, self.headers, body)
        data = answer if isinstance(answer, bytes) else json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", self.server.provider.content_type if status < 500 else "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _handle


class FakeProvider:
    name = "fake"
    content_type = "application/json;charset=utf-8"

    def __init__(self, *, log: str | None = None):
        self.accepted: list[dict] = []
        self.by_phone: dict[str, list[dict]] = {}  # the query APIs' index
        self.requests = 0
        self.phone_errors: dict[str, str] = {}
        self.template_errors: dict[str, str] = {}
        self.fail_next = 0
        self.throttle_per_second: int | None = None
        self.delay = 0.0
        self._lock = threading.Lock()
        self._second = (0, 0)  # (the current second, messages taken in it)
        self._nonces: set[str] = set()
        self._ids = itertools.count(1)
        self._log = open(log, "a", encoding="utf-8") if log else None  # noqa: SIM115 (closed in stop)
        self._server: ThreadingHTTPServer | None = None

    # Serving ------------------------------------------------------------------------------
    def start(self, port: int = 0) -> "FakeProvider":
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.provider = self
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name=f"fake-{self.name}", daemon=True).start()
        return self

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self):
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def answer(self, method: str, path: str, headers, body: bytes):
        with self._lock:
            self.requests += 1
            failing = self.fail_next > 0
            self.fail_next -= 1 if failing else 0
        if self.delay:
            time.sleep(self.delay)
        if failing:
            return 502, b"<html><body>502 Bad Gateway</body></html>"
        try:
            return self.handle(method, path, headers, body)
        except Answer as answer:
            return answer.status, answer.body

    # What every provider shares -----------------------------------------------------------
    def fresh_nonce(self, nonce: str) -> bool:
        with self._lock:
            if nonce in self._nonces:
                return False
            self._nonces.add(nonce)
            return True

    def throttled(self) -> bool:
        """Past `throttle_per_second` messages in this second."""
        if self.throttle_per_second is None:
            return False
        now = int(time.time())
        with self._lock:
            second, count = self._second
            count = count + 1 if second == now else 1
            self._second = (now, count)
        return count > self.throttle_per_second

    def take(self, *, phone: str, template: str, params, reference: str, sign: str) -> dict:
        record = {
            "provider": self.name,
            "id": f"{uuid.uuid4().int % 10**15:015d}{next(self._ids):06d}",
            "time": time.time(),
            "phone": phone,
            "template": template,
            "params": params,
            "sign": sign,
            "reference": reference,
        }
        with self._lock:
            self.accepted.append(record)
            self.by_phone.setdefault(phone, []).append(record)
            if self._log:
                self._log.write(json.dumps(record, ensure_ascii=False) + "\n")
                self._log.flush()
        return record

    def handle(self, method, path, headers, body):
        raise NotImplementedError


# Alibaba Cloud SMS ------------------------------------------------------------------------


def rfc3986(text: str) -> str:
    """Alibaba's percent-encoding for the RPC signature, character by character from the document."""
    out = []
    for char in str(text):
        if char in UNRESERVED:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def alibaba_signature(method: str, params: dict, secret: str) -> str:
    pairs = sorted((rfc3986(key), rfc3986(value)) for key, value in params.items() if key != "Signature")
    query = "&".join(f"{key}={value}" for key, value in pairs)
    string_to_sign = method + "&" + rfc3986("/") + "&" + rfc3986(query)
    return base64.b64encode(hmac.new((secret + "&").encode(), string_to_sign.encode(), "sha1").digest()).decode()


class AlibabaServer(FakeProvider):
    name = "alibaba"
    COMMON = (
        "AccessKeyId",
        "Action",
        "Format",
        "SignatureMethod",
        "SignatureNonce",
        "SignatureVersion",
        "Timestamp",
        "Version",
        "Signature",
    )

    def __init__(self, *, key_id=ALIBABA_KEY_ID, secret=ALIBABA_SECRET, log=None):
        super().__init__(log=log)
        self.key_id, self.secret = key_id, secret

    @staticmethod
    def error(status: int, code: str, message: str):
        return Answer(status, {"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": message})

    def handle(self, method, path, headers, body):
        parts = urlsplit(path)
        if parts.path != "/":
            raise self.error(
                404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."
            )
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if method == "POST":
            params |= dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        self.check_common(method, params)
        action = params["Action"]
        if action == "SendSms":
            return self.send_sms(params)
        if action == "QuerySendDetails":
            return self.query_send_details(params)
        raise self.error(404, "InvalidAction.NotFound", f"Specified api is not found: {action}")

    def check_common(self, method, params):
        for name in self.COMMON:
            if not params.get(name):
                raise self.error(400, "MissingParameter", f"The input parameter {name} that is mandatory is missing.")
        if params["Version"] != "2017-05-25":
            raise self.error(400, "InvalidVersion", "Specified parameter Version is not valid.")
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            raise self.error(400, "InvalidSignatureMethod", "Specified signature method is not valid.")
        try:
            stamp = datetime.datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
        except ValueError:
            raise self.error(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.") from None
        if abs((datetime.datetime.now(datetime.UTC) - stamp).total_seconds()) > 15 * 60:
            raise self.error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date header is expired.")
        if params["AccessKeyId"] != self.key_id:
            raise self.error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        expected = alibaba_signature(method, params, self.secret)
        if not hmac.compare_digest(expected, params["Signature"]):
            raise self.error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        if not self.fresh_nonce(params["SignatureNonce"]):
            raise self.error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")

    def send_sms(self, params):
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                raise self.error(400, "MissingParameter", f"The input parameter {name} that is mandatory is missing.")
        ok = {"RequestId": str(uuid.uuid4()).upper(), "Code": "OK", "Message": "OK"}
        if self.throttled():
            raise self.error(400, "Throttling.User", "Request was denied due to user flow control.")
        phone = params["PhoneNumbers"]
        if "," in phone or not MAINLAND_MOBILE.match(phone):
            return 200, ok | {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
        if phone in self.phone_errors:
            return 200, ok | {"Code": self.phone_errors[phone], "Message": "scripted"}
        if params["TemplateCode"] in self.template_errors:
            return 200, ok | {
                "Code": self.template_errors[params["TemplateCode"]],
                "Message": "模板不合法(不存在或被拉黑)",
            }
        try:
            template_params = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return 200, ok | {"Code": "isv.INVALID_JSON_PARAM", "Message": "JSON参数不合法，只接受字符串值"}
        if not isinstance(template_params, dict) or not all(isinstance(v, str) for v in template_params.values()):
            return 200, ok | {"Code": "isv.INVALID_JSON_PARAM", "Message": "JSON参数不合法，只接受字符串值"}
        record = self.take(
            phone=phone,
            template=params["TemplateCode"],
            params=template_params,
            reference=params.get("OutId", ""),
            sign=params["SignName"],
        )
        record["id"] = f"{record['id']}^0"  # BizId's shape
        return 200, ok | {"BizId": record["id"]}

    def query_send_details(self, params):
        for name in ("PhoneNumber", "SendDate", "PageSize", "CurrentPage"):
            if not params.get(name):
                raise self.error(400, "MissingParameter", f"The input parameter {name} that is mandatory is missing.")
        size, page = int(params["PageSize"]), int(params["CurrentPage"])
        if not 1 <= size <= 50:
            return 200, {"RequestId": str(uuid.uuid4()), "Code": "isv.INVALID_PARAMETERS", "Message": "PageSize"}
        day = params["SendDate"]
        found = [
            record
            for record in list(self.by_phone.get(params["PhoneNumber"], ()))
            if datetime.datetime.fromtimestamp(record["time"], BEIJING).strftime("%Y%m%d") == day
        ]
        shown = found[(page - 1) * size : page * size]

        def detail(record):
            sent = datetime.datetime.fromtimestamp(record["time"], BEIJING).strftime("%Y-%m-%d %H:%M:%S")
            return {
                "PhoneNum": record["phone"],
                "SendStatus": 3,
                "ErrCode": "DELIVERED",
                "TemplateCode": record["template"],
                "Content": json.dumps(record["params"], ensure_ascii=False),
                "SendDate": sent,
                "ReceiveDate": sent,
                "OutId": record["reference"],
            }

        return 200, {
            "RequestId": str(uuid.uuid4()).upper(),
            "Code": "OK",
            "Message": "OK",
            "TotalCount": len(found),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": [detail(record) for record in shown]},
        }


# Tencent Cloud SMS ------------------------------------------------------------------------


def tencent_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    def sign(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()

    signing = sign(sign(sign(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    return hmac.new(signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>\w+)/tc3_request, "
    r"SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


class TencentServer(FakeProvider):
    name = "tencent"
    content_type = "application/json"  # exactly: Tencent's SDK reads Response.Error only under it

    def __init__(
        self, *, secret_id=TENCENT_SECRET_ID, secret_key=TENCENT_SECRET_KEY, app_id=TENCENT_SDK_APP_ID, log=None
    ):
        super().__init__(log=log)
        self.secret_id, self.secret_key, self.app_id = secret_id, secret_key, app_id

    @staticmethod
    def error(code: str, message: str, status: int = 200):
        return Answer(
            status, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}}
        )

    def handle(self, method, path, headers, body):
        if method != "POST" or urlsplit(path).path != "/":
            raise self.error("UnsupportedProtocol", "only POST / is served here")
        self.check_signature(path, headers, body)
        if headers.get("X-TC-Version") != "2021-01-11":
            raise self.error("InvalidParameterValue", "X-TC-Version must be 2021-01-11")
        try:
            params = json.loads(body.decode("utf-8"))
        except ValueError:
            raise self.error("FailedOperation.JsonParseFail", "the body is not JSON") from None
        action = headers.get("X-TC-Action")
        if action == "SendSms":
            return self.send_sms(params)
        if action == "PullSmsSendStatusByPhoneNumber":
            return self.pull_status(params)
        raise self.error("InvalidAction", f"no such action: {action}")

    def check_signature(self, path, headers, body):
        for name in ("Authorization", "X-TC-Action", "X-TC-Timestamp", "X-TC-Version", "Host", "Content-Type"):
            if not headers.get(name):
                raise self.error("MissingParameter", f"the header {name} is missing")
        match = AUTHORIZATION.match(headers["Authorization"])
        if not match:
            raise self.error("AuthFailure.InvalidAuthorization", "Authorization is not TC3-HMAC-SHA256")
        if match["id"] != self.secret_id:
            raise self.error("AuthFailure.SecretIdNotFound", "the SecretId is not found")
        try:
            stamp = int(headers["X-TC-Timestamp"])
        except ValueError:
            raise self.error("InvalidParameter", "X-TC-Timestamp is not a number") from None
        if abs(time.time() - stamp) > 300:
            raise self.error("AuthFailure.SignatureExpire", "the signature expired")
        if match["date"] != datetime.datetime.fromtimestamp(stamp, datetime.UTC).strftime("%Y-%m-%d"):
            raise self.error("AuthFailure.SignatureFailure", "the date in the credential is not the timestamp's (UTC)")
        if match["service"] != "sms":
            raise self.error("AuthFailure.SignatureFailure", "the credential's service is not sms")
        signed_headers = match["headers"].split(";")
        if "host" not in signed_headers or "content-type" not in signed_headers:
            raise self.error("AuthFailure.SignatureFailure", "host and content-type must be signed")
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed_headers)
        canonical_request = "\n".join(
            [
                "POST",
                urlsplit(path).path,
                urlsplit(path).query,
                canonical_headers,
                match["headers"],
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{match['date']}/{match['service']}/tc3_request"
        string_to_sign = "\n".join(
            ["TC3-HMAC-SHA256", str(stamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
        )
        expected = tencent_signature(self.secret_key, match["date"], match["service"], string_to_sign)
        if not hmac.compare_digest(expected, match["signature"]):
            raise self.error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")

    def send_sms(self, params):
        for name in ("PhoneNumberSet", "SmsSdkAppId", "TemplateId"):
            if not params.get(name):
                raise self.error("MissingParameter", f"The request is missing a required parameter `{name}`.")
        if params["SmsSdkAppId"] != self.app_id:
            raise self.error("FailedOperation.SmsSdkAppIdVerifyFail", "SdkAppId verification failed")
        if self.throttled():
            raise self.error("RequestLimitExceeded", "Your current request rate exceeds the limit.")
        if params["TemplateId"] in self.template_errors:
            raise self.error(self.template_errors[params["TemplateId"]], "template not approved or not found")
        if not params.get("SignName"):
            raise self.error("FailedOperation.SignatureIncorrectOrUnapproved", "sign not approved or not found")
        template_params = params.get("TemplateParamSet") or []
        if not isinstance(template_params, list) or not all(isinstance(v, str) for v in template_params):
            raise self.error("InvalidParameterValue.TemplateParameterFormatError", "TemplateParamSet")
        statuses = []
        for phone in params["PhoneNumberSet"]:
            status = {
                "SerialNo": "",
                "PhoneNumber": phone,
                "Fee": 0,
                "SessionContext": params.get("SessionContext", ""),
                "IsoCode": "CN",
            }
            local = phone[3:] if phone.startswith("+86") else phone
            if not phone.startswith("+86") or not MAINLAND_MOBILE.match(local):
                status |= {"Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "手机号格式错误"}
            elif local in self.phone_errors:
                status |= {"Code": self.phone_errors[local], "Message": "scripted"}
            else:
                record = self.take(
                    phone=local,
                    template=params["TemplateId"],
                    params=template_params,
                    reference=params.get("SessionContext", ""),
                    sign=params["SignName"],
                )
                record["id"] = f"2640:{record['id']}"  # SerialNo's shape
                status |= {"SerialNo": record["id"], "Fee": 1, "Code": "Ok", "Message": "send success"}
            statuses.append(status)
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}}

    def pull_status(self, params):
        for name in ("BeginTime", "Limit", "PhoneNumber", "SmsSdkAppId"):
            if params.get(name) in (None, ""):
                raise self.error("MissingParameter", f"The request is missing a required parameter `{name}`.")
        if params["SmsSdkAppId"] != self.app_id:
            raise self.error("FailedOperation.SmsSdkAppIdVerifyFail", "SdkAppId verification failed")
        if not 0 < int(params["Limit"]) <= 100:
            raise self.error("InvalidParameterValue", "Limit is at most 100")
        phone = params["PhoneNumber"]
        end = int(params.get("EndTime") or time.time() + 1)
        found = [
            record
            for record in list(self.by_phone.get(phone.removeprefix("+86"), ()))
            if phone.startswith("+86") and int(params["BeginTime"]) <= record["time"] <= end
        ]
        offset = int(params.get("Offset") or 0)
        shown = found[offset : offset + int(params["Limit"])]
        return 200, {
            "Response": {
                "PullSmsSendStatusSet": [
                    {
                        "UserReceiveTime": int(record["time"]),
                        "CountryCode": "86",
                        "SubscriberNumber": record["phone"],
                        "PhoneNumber": phone,
                        "SerialNo": record["id"],
                        "ReportStatus": "SUCCESS",
                        "Description": "用户短信送达成功",
                        "SessionContext": record["reference"],
                    }
                    for record in shown
                ],
                "RequestId": str(uuid.uuid4()),
            }
        }


SERVERS = {"alibaba": AlibabaServer, "tencent": TencentServer}


def main(argv=None):
    parser = argparse.ArgumentParser(description="A local stand-in for an SMS provider (tests, benchmarks).")
    parser.add_argument("provider", choices=sorted(SERVERS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", help="append one JSON line per message taken")
    parser.add_argument("--throttle", type=int, help="refuse past this many messages a second")
    options = parser.parse_args(argv)
    server = SERVERS[options.provider](log=options.log)
    server.throttle_per_second = options.throttle
    server.start(options.port)
    print(f"{options.provider} stand-in on {server.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
