"""`memberbot webhook`: add (the secret printed once), list (never the secret), test (a
signed ping to a real receiver), remove; bad input is one clear line; `memberbot outbox`
lists deliveries not delivered."""

from __future__ import annotations

from datetime import UTC, datetime

from core.clock import FixedClock
from core.context import Context
from core.people.registration import register_member
from tests.channels.pushing import dispatcher
from tests.channels.webhook_receiver import Receiver
from tests.cli import invoke


async def test_webhooks_from_the_command_line(cli_env: Context, clock: FixedClock) -> None:
    clock.set(datetime.now(UTC))  # the command line runs on the real clock
    receiver = Receiver(clock, failures=1)
    url = await receiver.start()
    try:
        bad = await invoke("webhook", "add", "ftp://till.test/x", "--events", "sale.recorded")
        assert bad.exit_code == 2
        assert "ftp://till.test/x is not a web address" in bad.output
        bad = await invoke("webhook", "add", url, "--events", "sale.recorded,sale.made")
        assert bad.exit_code == 2
        assert "There is no event sale.made; the events are: member.registered," in bad.output
        assert (await invoke("webhook", "list")).output.strip() == "No webhooks."

        added = await invoke("webhook", "add", url, "--events", "member.registered")
        assert added.exit_code == 0, added.output
        first, second = added.output.splitlines()
        assert first == f"Webhook #1: {url}"
        receiver.secret = second.rsplit(" ", 1)[1]
        assert receiver.secret.startswith("whsec_")
        listed = (await invoke("webhook", "list")).output
        assert url in listed and "member.registered" in listed
        assert receiver.secret not in listed and receiver.secret[:10] in listed

        receiver.failures = 0
        pinged = await invoke("webhook", "test", "1")
        assert pinged.output.strip() == "Delivered: HTTP 204"
        assert receiver.types() == ["ping"]

        receiver.failures = 1
        await register_member(cli_env, name="Ann", phone="13900000001")
        await dispatcher(cli_env, clock, {}).round()
        shown = (await invoke("outbox")).output
        assert "Webhook deliveries not delivered:" in shown
        line = next(line for line in shown.splitlines() if url in line)
        assert line.split()[1:4] == ["member.registered", "queued", "1"]
        assert line.endswith("the endpoint answered with status 500")

        removed = await invoke("webhook", "remove", url)
        assert removed.output.strip() == "Webhook #1 removed."
        assert "webhook removed" in (await invoke("outbox")).output
        unknown = await invoke("webhook", "remove", "1")
        assert (unknown.exit_code, unknown.output.strip()) == (2, "memberbot: No webhook 1.")
    finally:
        await receiver.stop()
