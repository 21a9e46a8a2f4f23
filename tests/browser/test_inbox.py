"""The shared inbox and contacts in a real browser, end to end: a sandbox customer writes, the
message appears in the open inbox without a reload, the team replies and the ticks reach read
(real webhook worker, real Celery worker, the sandbox as Meta); contact import with bad rows;
another organization refused by id and by signed media link. Screenshots of every page."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import pytest

from tests.browser.conftest import check_page
from tests.browser.test_shell import sign_in
from tests.conftest import in_tenant, wait_for
from tests.outbound.conftest import connect, sent_bodies
from whatsapp.models import Conversation, WhatsAppMedia

pytestmark = pytest.mark.integration

CUSTOMER = "5511987654321"
LIVE_SECONDS = 2.0


def png(width: int = 48, height: int = 32) -> bytes:
    """A real PNG (a green rectangle), so the browser has an image to draw."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\x12\x8c\x7e" * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def connected_a(web, org_a, sandbox, settings, webhook_worker, celery_worker):
    settings.WHATSAPP_SEND_RETRY_BASE_DELAY = 0.05
    settings.WHATSAPP_SEND_RETRY_MAX_DELAY = 0.5
    # Like Meta, the sandbox reports sent, delivered and read for what we send (the suite's
    # sandbox starts with this off; `sandbox` resets it after the test).
    sandbox.update_config(auto_status=True, auto_status_delays=[0.3, 0.8, 1.5])
    return connect(org_a)


def _conversation_id(org) -> int:
    def found():
        with in_tenant(org):
            return (
                Conversation.objects.filter(contact__wa_id=CUSTOMER)
                .values_list("pk", flat=True)
                .first()
            )

    return wait_for(found, timeout=10)


def test_customer_writes_it_appears_live_reply_ticks_reach_read(
    web, org_a, connected_a, sandbox, new_page
) -> None:
    number = connected_a.phone_number_id
    page = new_page()
    sign_in(page, web, org_a)
    page.goto(web.url(org_a.host, "/inbox/"))
    assert page.get_by_text("No conversations yet").is_visible()

    # A customer writes while the inbox is open: the row appears without a reload.
    sandbox.customer_sends_text(number, CUSTOMER, "Hi, where is my order?")
    started = time.monotonic()
    row = page.locator("li.conversation-row", has_text="where is my order")
    row.wait_for(timeout=LIVE_SECONDS * 1000 + 500)
    print(f"list updated {time.monotonic() - started:.2f}s after the webhook was acknowledged")
    assert row.locator(".unread-count").inner_text() == "1"
    assert "left" in row.locator(".window").inner_text()
    check_page(page, "inbox-list")

    row.locator("a").click()
    conversation_id = _conversation_id(org_a)
    assert page.url == web.url(org_a.host, f"/inbox/{conversation_id}/")
    # In the open conversation: a photo and a voice note arrive live, shown inline.
    sandbox.customer_sends(
        number,
        CUSTOMER,
        "image",
        data=png(),
        mime_type="image/png",
        caption="The box arrived damaged",
    )
    started = time.monotonic()
    caption = page.locator("li.message.incoming", has_text="The box arrived damaged")
    caption.wait_for(timeout=LIVE_SECONDS * 1000 + 500)
    print(f"thread updated {time.monotonic() - started:.2f}s after the webhook was acknowledged")
    image = caption.locator("img")
    image.wait_for(timeout=15_000)  # once the media task has stored the file
    wait_for(
        lambda: page.evaluate(
            "() => [...document.images].some(i => i.complete && i.naturalWidth === 48)"
        ),
        timeout=10,
    )
    sandbox.customer_sends(number, CUSTOMER, "audio", voice=True)
    page.locator("li.message.incoming audio source").wait_for(state="attached", timeout=15_000)
    voice_type = page.locator("li.message.incoming audio source").get_attribute("type")
    assert voice_type == 'audio/ogg; codecs="opus"'
    assert page.evaluate(
        "() => document.createElement('audio').canPlayType('audio/ogg; codecs=\"opus\"')"
    ) in ("probably", "maybe")

    # Reply: it goes through the outbound engine; the sandbox reports sent, delivered, read.
    page.get_by_label("Reply").fill("Sorry about that! A replacement ships today.")
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    outgoing = page.locator("li.message.outgoing", has_text="replacement ships today")
    outgoing.wait_for()
    page.locator('li.message.outgoing[data-status="read"] .ticks.read').wait_for(timeout=20_000)
    assert outgoing.locator(".ticks").get_attribute("aria-label") == "read"
    (sent,) = sent_bodies(sandbox, number)
    assert sent["text"]["body"] == "Sorry about that! A replacement ships today."

    # Team-only note, assignment, mark as read (Meta's read receipt for the customer).
    page.get_by_label("Add a note").fill("Replacement approved by Sam.")
    page.get_by_role("button", name="Save note").click()
    page.get_by_label("Assigned to").select_option(label=org_a.admin_email)
    page.get_by_role("button", name="Assign").click()
    page.get_by_role("button", name="Mark as read").click()
    page.wait_for_load_state()
    assert page.get_by_text("Replacement approved by Sam.").is_visible()
    receipts = [
        r
        for r in sandbox.requests(path_contains=f"/{number}/messages")
        if isinstance(r.get("body"), dict) and r["body"].get("status") == "read"
    ]
    assert len(receipts) == 1
    assert len(sent_bodies(sandbox, number)) == 1  # the note never reached the customer
    check_page(page, "inbox-conversation")

    phone = new_page(phone=True)
    sign_in(phone, web, org_a)
    phone.goto(web.url(org_a.host, f"/inbox/{conversation_id}/"))
    check_page(phone, "inbox-conversation-phone")
    phone.goto(web.url(org_a.host, "/inbox/"))
    assert phone.locator("li.conversation-row .unread-count").count() == 0
    assert org_a.admin_email in phone.locator("li.conversation-row .assignee").inner_text()
    check_page(phone, "inbox-list-phone")


def test_another_org_is_refused_by_id_and_by_media_link(
    web, org_a, org_b, connected_a, sandbox, new_page
) -> None:
    sandbox.customer_sends(
        connected_a.phone_number_id, CUSTOMER, "image", data=png(), mime_type="image/png"
    )
    conversation_id = _conversation_id(org_a)

    def stored():
        with in_tenant(org_a):
            return WhatsAppMedia.objects.filter(state="stored").exists()

    wait_for(stored, timeout=15)
    page_a = new_page()
    sign_in(page_a, web, org_a)
    page_a.goto(web.url(org_a.host, f"/inbox/{conversation_id}/"))
    link = page_a.locator("li.message img").get_attribute("src")
    assert link.startswith("/inbox/media/")
    assert page_a.goto(web.url(org_a.host, link)).status == 200

    page_b = new_page()
    sign_in(page_b, web, org_b)
    for path in (f"/inbox/{conversation_id}/", link):
        response = page_b.goto(web.url(org_b.host, path))
        assert response.status == 404, path
    # Signed in on A only, the link on B's host asks to sign in there (sessions are host-bound).
    page_a.goto(web.url(org_b.host, link))
    assert page_a.url.startswith(web.url(org_b.host, "/login/"))
    page_b.goto(web.url(org_b.host, "/inbox/"))
    assert page_b.locator("li.conversation-row").count() == 0
    check_page(page_b, "inbox-other-org-empty")


def test_contact_import_with_bad_rows_then_list_and_detail(
    web, org_a, new_page, tmp_path: Path
) -> None:
    page = new_page()
    sign_in(page, web, org_a)
    page.goto(web.url(org_a.host, "/contacts/"))
    page.get_by_role("link", name="Import CSV").click()
    check_page(page, "contacts-import")
    upload = tmp_path / "contacts.csv"
    upload.write_text(
        "phone,bsuid,name,tags,opted_out\n"
        "+44 7911 123456,,Alice Archer,vip;leads,\n"
        "12,,Too Short,,\n"
        ",US.13491208655302741918,Carol (username only),,yes\n"
        ",,No Id,,\n"
    )
    page.get_by_label("CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Import").click()
    report = page.locator("#import-report")
    report.wait_for()
    assert "2 created, 0 updated, 2 with errors" in report.inner_text()
    assert page.locator("tr.report-error").count() == 2
    check_page(page, "contacts-import-report")

    page.goto(web.url(org_a.host, "/contacts/"))
    assert page.get_by_role("link", name="Alice Archer").is_visible()
    check_page(page, "contacts-list")
    page.get_by_label("Search").fill("vip")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Alice Archer").click()
    assert page.get_by_label("Tags, separated by semicolons").input_value() == "leads; vip"
    check_page(page, "contact-detail")
