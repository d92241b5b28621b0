"""The WeChat baseline: the least an official-account server must do — check the signature,
(in safe mode) decrypt, parse, reply (encrypted) — on aiohttp with wechatpy, nothing else.

    python bench/baseline_wechat.py PORT
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bench.wechat_load import AES_KEY, APP_ID, TOKEN

crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)


def echo(message: BaseMessage) -> str:
    return str(message.content)


def app(content: Callable[[BaseMessage], str] = echo) -> web.Application:
    """The server, answering each message with ``content(message)`` (``bench.floor_wechat``
    gives it memberbot's statements)."""

    async def receive(request: web.Request) -> web.Response:
        q = request.query
        check_signature(TOKEN, q["signature"], q["timestamp"], q["nonce"])
        body = await request.read()
        safe = q.get("encrypt_type") == "aes"
        if safe:
            body = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
        message = parse_message(body)
        xml = TextReply(message=message, content=content(message)).render()
        if safe:
            xml = crypto.encrypt_message(xml, q["nonce"], q["timestamp"])
        return web.Response(text=xml, content_type="text/xml")

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    served = web.Application()
    served.router.add_post("/wechat", receive)
    served.router.add_get("/health", health)
    return served


if __name__ == "__main__":
    web.run_app(app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
