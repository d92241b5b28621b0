"""WeChat's side of the official-account protocol, for tests: messages signed (and in safe
mode encrypted) exactly as WeChat does it, posted over real HTTP, replies decrypted."""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import xmltodict
from aiohttp import ClientSession
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.settings import Settings
from core.clock import Clock
from tests.channels.fake_wechat import FakeWeChat

TOKEN = "test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx0123456789abcdef"
ACCOUNT = "gh_0123456789ab"


def signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


@dataclass
class Answer:
    status: int
    body: str
    message: dict[str, Any] | None  # the reply's fields, decrypted; None for "success"

    @property
    def content(self) -> str:
        assert self.message is not None, f"no reply message: {self.status} {self.body!r}"
        return str(self.message.get("Content", ""))


class WeChatSimulator:
    """Posts to the endpoint at ``url`` as WeChat would; ``safe`` selects AES safe mode."""

    _ids = itertools.count(6_000_000_000_000_000_000)

    def __init__(
        self,
        session: ClientSession,
        url: str,
        *,
        clock: Clock,
        safe: bool = True,
        aes_key: str = AES_KEY,
        token: str = TOKEN,
        app_id: str = APP_ID,
    ) -> None:
        """``clock`` is the server's: WeChat stamps each request with its time, and the
        server refuses one too far from its own."""
        self.session, self.url, self.safe, self.token = session, url, safe, token
        self.clock = clock
        self.crypto = WeChatCrypto(token, aes_key, app_id)
        self.create_time = 1_767_580_000

    def xml(self, openid: str, msg_type: str, **fields: str) -> str:
        self.create_time += 1
        body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
        return (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{self.create_time}</CreateTime>"
            f"<MsgType><![CDATA[{msg_type}]]></MsgType>{body}</xml>"
        )

    def text_xml(self, openid: str, content: str, msg_id: int | None = None, **extra: str) -> str:
        msg_id = msg_id if msg_id is not None else next(self._ids)
        return self.xml(openid, "text", Content=content, MsgId=str(msg_id), **extra)

    async def text(self, openid: str, content: str, **extra: Any) -> Answer:
        return await self.post(self.text_xml(openid, content, **extra))

    async def tap(self, openid: str, reply: Answer, label: str) -> Answer:
        """Tap the link of ``label`` in ``reply``: WeChat sends the label, with the link's key."""
        return await self.text(openid, label, bizmsgmenuid=links(reply.content)[label])

    async def event(self, openid: str, event: str, key: str = "") -> Answer:
        fields = {"Event": event, **({"EventKey": key} if key else {})}
        return await self.post(self.xml(openid, "event", **fields))

    async def post(
        self,
        xml: str,
        *,
        query: dict[str, str | None] | None = None,
        content_type: str = "text/xml",
    ) -> Answer:
        """``xml`` posted as WeChat posts it; ``query`` adds parameters, or (None) drops them."""
        timestamp = str(int(self.clock.now().timestamp()))
        nonce = "nonce" + str(next(self._ids))[-6:]
        params = {
            "timestamp": timestamp,
            "nonce": nonce,
            "signature": signature(self.token, timestamp, nonce),
            "openid": "o-sim",
        }
        body = xml
        if self.safe:
            sealed = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
            params |= {"encrypt_type": "aes", "msg_signature": sealed["MsgSignature"]}
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"
            )
        for name, value in (query or {}).items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        async with self.session.post(
            self.url,
            params=params,
            data=BytesIO(body.encode()),
            headers={"Content-Type": content_type},
        ) as response:
            text = await response.text()
            return Answer(response.status, text, self._open(text, params, response.status))

    def _open(self, text: str, params: dict[str, str], status: int) -> dict[str, Any] | None:
        if status != 200 or text == "success":
            return None
        if params.get("encrypt_type") == "aes":
            sealed = xmltodict.parse(text)["xml"]
            # The reply is signed and encrypted with the account's key: checked here.
            text = self.crypto.decrypt_message(
                text, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"]
            )
        return dict(xmltodict.parse(text)["xml"])


_CHOICE = re.compile(
    r'^(\d+)\) <a href="weixin://bizmsgmenu\?msgmenucontent=([^"]*)&msgmenuid=(\d+)">(.*)</a>$'
)


def choices(content: str) -> dict[str, int]:
    """The numbered choices of a reply, label → number (to type), checking each link's form."""
    return {label: number for label, (number, _key) in _links(content).items()}


def links(content: str) -> dict[str, str]:
    """The links of a reply's choices, label → the link's key (what a tap sends back)."""
    return {label: key for label, (_number, key) in _links(content).items()}


def _links(content: str) -> dict[str, tuple[int, str]]:
    found = {}
    for line in content.splitlines():
        match = _CHOICE.match(line)
        if match:
            number, content_label, menu_id, label = match.groups()
            assert content_label == label
            found[html.unescape(label)] = (int(number), menu_id)
    return found


def wechat_settings(fake: FakeWeChat, **overrides: Any) -> Settings:
    """Settings of a WeChat account whose API is the fake server ``fake``."""
    values: dict[str, Any] = {
        "wechat_token": TOKEN,
        "wechat_app_id": APP_ID,
        "wechat_app_secret": "app-secret",
        "wechat_encoding_aes_key": AES_KEY,
        "wechat_api_base": fake.base_url,
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]
