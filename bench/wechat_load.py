"""WeChat's side for the benchmarks: text messages signed (and in safe mode encrypted) as
WeChat does it, made before the clock starts so the load generator only sends."""

from __future__ import annotations

import time

from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bench.common import Request

TOKEN = "bench-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx0123456789abcdef"
ACCOUNT = "gh_0123456789ab"


def _signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def text_requests(url: str, openids: list[str], content: str, *, safe: bool) -> list[Request]:
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    timestamp = str(int(time.time()))
    requests: list[Request] = []
    for n, openid in enumerate(openids):
        nonce = f"n{n:08d}"
        xml = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{7_000_000_000_000_000_000 + n + (10**9 if safe else 0)}</MsgId></xml>"
        )
        query = {"timestamp": timestamp, "nonce": nonce, "openid": openid}
        query["signature"] = _signature(TOKEN, timestamp, nonce)
        body = xml
        if safe:
            sealed = crypto.encrypt_message(xml, nonce, timestamp)
            encrypt = sealed.split("<Encrypt><![CDATA[")[1].split("]]></Encrypt>")[0]
            msg_signature = sealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
            query |= {"encrypt_type": "aes", "msg_signature": msg_signature}
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            )
        requests.append((url, query, body.encode(), {"Content-Type": "text/xml"}))
    return requests
