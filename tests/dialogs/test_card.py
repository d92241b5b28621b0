"""The member card: number, name, tier, and a QR code (a real PNG) that holds the member
number staff scan at the counter."""

from __future__ import annotations

import struct
import zlib

import pytest
import segno

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.member import card
from bot.i18n import gettext
from core import loyalty
from core.context import Context
from core.people.members import format_member_no, parse_member_no
from core.people.registration import register_member
from tests.dialogs.conftest import say

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == PNG_SIGNATURE
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc
        chunks.append((kind, body))
        at += 12 + length
    return chunks


def png_pixels(data: bytes) -> list[list[int]]:
    """Decode a greyscale PNG (what segno writes: 1-bit or 8-bit, no interlace) into rows
    of 0 (black) / 1 (white)."""
    chunks = png_chunks(data)
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1]
    )
    assert colour == 0 and depth in (1, 8) and interlace == 0
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = (width * depth + 7) // 8
    rows: list[list[int]] = []
    previous = bytearray(stride)
    at = 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1 : at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            left = line[i - 1] if i else 0
            up, up_left = previous[i], previous[i - 1] if i else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[i] = (line[i] + guess) & 0xFF
        previous = line
        if depth == 1:
            bits = [(line[x // 8] >> (7 - x % 8)) & 1 for x in range(width)]
        else:
            bits = [1 if line[x] >= 128 else 0 for x in range(width)]
        rows.append(bits)
    return rows


def modules(data: bytes, scale: int, border: int) -> list[list[bool]]:
    """The QR modules in the image (True = dark), read at the centre of each module."""
    pixels = png_pixels(data)
    size = len(pixels) // scale - 2 * border
    return [
        [
            pixels[(border + y) * scale + scale // 2][(border + x) * scale + scale // 2] == 0
            for x in range(size)
        ]
        for y in range(size)
    ]


@pytest.mark.parametrize(
    ("locale", "message", "tier"),
    [("zh_CN", "会员卡", "金卡"), ("en", "/card", "Gold"), ("en", "show my QR", "Gold")],
)
async def test_card_shows_number_name_tier_and_a_scannable_code(
    ctx: Context, dialogs: Dialogs, locale: str, message: str, tier: str
) -> None:
    member = await register_member(
        ctx, name="王芳", phone=None, locale=locale, channel="console", external_id="u1"
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="R1", member_id=member.id, amount_fen=600_000
    )
    (reply,) = await say(dialogs, message)
    member_no = format_member_no(member.id)
    assert reply.text.split("\n")[:4] == [
        gettext(locale, "Member card"),
        gettext(locale, "Member number: {member_no}", member_no=member_no),
        gettext(locale, "Name: {name}", name="王芳"),
        gettext(locale, "Tier: {tier}", tier=tier),
    ]
    assert reply.image is not None and reply.image_name == "card.png"

    # A real PNG, sized for a full QR code with its quiet zone.
    (kind, header), *_ = png_chunks(reply.image)
    width, height = struct.unpack(">II", header[:8])
    expected = segno.make_qr(member_no, error=card.QR_ERROR)
    assert not expected.is_micro  # Micro QR is not read by phone or counter scanners
    side = (expected.symbol_size(scale=1, border=0)[0] + 2 * card.QR_BORDER) * card.QR_SCALE
    assert (kind, width, height) == (b"IHDR", side, side)

    # The pictured modules are those of the member number's QR code, and that number is
    # what the counter parses back to this member.
    pictured = modules(reply.image, card.QR_SCALE, card.QR_BORDER)
    assert pictured == [[bool(m) for m in row] for row in expected.matrix]
    other = segno.make_qr(format_member_no(member.id + 1), error=card.QR_ERROR)
    assert pictured != [[bool(m) for m in row] for row in other.matrix]
    assert parse_member_no(member_no) == member.id


async def test_the_card_needs_a_member(ctx: Context, dialogs: Dialogs) -> None:
    replies = await say(dialogs, "/card", user="stranger")
    assert replies and all(reply.image is None for reply in replies)
