"""The read API: representation, filters, ordering, keyset pagination, details, downloads and a
constant number of queries per list."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import T0
from whatsapp.models import WhatsAppMessage

pytestmark = pytest.mark.django_db

MESSAGE_FIELDS = {
    "id", "wamid", "direction", "type", "status", "contact", "wa_id", "user_id", "text",
    "timestamp", "media", "raw", "sent_at", "delivered_at", "read_at", "failed_at",
    "error_code", "error_title", "error_message",
    "accepted_at", "message_status", "played_at", "failure_reason", "attempts", "next_attempt_at",
    "from_wa_id", "from_user_id", "edited_at", "edit_history", "revoked", "revoked_at",
    "context", "interactive",
}  # fmt: skip


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _walk(client, url: str) -> list[dict]:
    """Every result, following `next` links."""
    results: list[dict] = []
    while url:
        body = client.get(url).json()
        results.extend(body["results"])
        url = body["next"] and _path(body["next"])
    return results


def test_message_representation(org_a, rows, client_for) -> None:
    r = rows(org_a)
    contact = r.contact(wa_id="15551230000", name="Ana")
    message = r.message(contact, text="hi there")
    media = r.media(r.message(contact, type="image", text="caption"))
    body = client_for(org_a).get("/api/v1/messages/").json()
    assert set(body) == {"next", "previous", "results"}
    by_id = {m["id"]: m for m in body["results"]}
    item = by_id[message.pk]
    assert set(item) == MESSAGE_FIELDS
    assert item["wamid"] == message.wamid
    assert item["direction"] == "incoming"
    assert item["wa_id"] == "15551230000"
    assert item["text"] == "hi there"
    assert item["media"] is None
    assert item["raw"] == message.raw
    assert by_id[media.message_id]["media"] == media.pk


def test_username_only_contact_exposes_user_id(org_a, rows, client_for) -> None:
    r = rows(org_a)
    contact = r.contact(wa_id=None, user_id="US.bsuid.1", username="ana.w")
    r.message(contact)
    item = client_for(org_a).get("/api/v1/messages/").json()["results"][0]
    assert item["wa_id"] is None
    assert item["user_id"] == "US.bsuid.1"
    c = client_for(org_a).get(f"/api/v1/contacts/{contact.pk}/").json()
    assert c["username"] == "ana.w"


def test_incoming_and_outgoing_lists(org_a, rows, client_for) -> None:
    r = rows(org_a)
    incoming = r.message()
    outgoing = r.message(direction="outgoing", status="delivered")
    client = client_for(org_a)
    assert [m["id"] for m in client.get("/api/v1/messages/incoming/").json()["results"]] == [
        incoming.pk
    ]
    assert [m["id"] for m in client.get("/api/v1/messages/outgoing/").json()["results"]] == [
        outgoing.pk
    ]
    assert len(client.get("/api/v1/messages/").json()["results"]) == 2


def test_message_filters(org_a, rows, client_for) -> None:
    r = rows(org_a)
    ana, bob = r.contact(wa_id="1555000001"), r.contact(wa_id="1555000002", user_id="bsuid-bob")
    m1 = r.message(ana, text="Order #42 shipped", timestamp=T0 + timedelta(days=1))
    m2 = r.message(bob, type="image", text="photo", timestamp=T0 + timedelta(days=2))
    m3 = r.message(
        bob, direction="outgoing", status="failed", text="sorry", timestamp=T0 + timedelta(days=3)
    )
    client = client_for(org_a)

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/messages/?{query}")
        assert response.status_code == 200, response.content
        return {m["id"] for m in response.json()["results"]}

    assert ids(f"contact={ana.pk}") == {m1.pk}
    assert ids("wa_id=1555000002") == {m2.pk, m3.pk}
    assert ids("user_id=bsuid-bob") == {m2.pk, m3.pk}
    assert ids("type=image") == {m2.pk}
    assert ids("status=failed") == {m3.pk}
    assert ids("type=text&status=received") == {m1.pk}
    assert ids("direction=outgoing") == {m3.pk}
    assert ids(f"wamid={m1.wamid}") == {m1.pk}
    since, until = (T0 + timedelta(days=2)).isoformat(), (T0 + timedelta(days=3)).isoformat()
    assert ids(f"since={since.replace('+', '%2B')}") == {m2.pk, m3.pk}
    assert ids(f"since={since.replace('+', '%2B')}&until={until.replace('+', '%2B')}") == {m2.pk}
    assert ids("q=order%20%2342") == {m1.pk}
    assert ids("q=ORDER") == {m1.pk}


@pytest.mark.parametrize(
    "query",
    ["status=nope", "direction=sideways", "contact=abc", "since=yesterday", "ordering=text"],
)
def test_invalid_filters_answer_400_in_the_error_shape(org_a, client_for, query) -> None:
    response = client_for(org_a).get(f"/api/v1/messages/?{query}")
    assert response.status_code == 400
    assert set(response.json()["error"]) >= {"code", "message"}


@pytest.mark.parametrize("query", ["cursor=garbage", "page_size=0", "page_size=1000"])
def test_invalid_pagination_answers_400(org_a, client_for, query) -> None:
    response = client_for(org_a).get(f"/api/v1/messages/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"invalid_cursor", "invalid_parameter"}


def test_cursor_pagination_walks_every_row_once_in_both_orders(org_a, rows, client_for) -> None:
    r = rows(org_a)
    contact = r.contact()
    # Ties on the timestamp: the (timestamp, id) keyset must neither skip nor repeat them.
    created = [r.message(contact, timestamp=T0 + timedelta(seconds=i // 3)) for i in range(11)]
    expected = [m.pk for m in sorted(created, key=lambda m: (m.timestamp, m.pk), reverse=True)]
    client = client_for(org_a)

    newest_first = _walk(client, "/api/v1/messages/?page_size=4")
    assert [m["id"] for m in newest_first] == expected
    oldest_first = _walk(client, "/api/v1/messages/?page_size=4&ordering=timestamp")
    assert [m["id"] for m in oldest_first] == expected[::-1]

    first = client.get("/api/v1/messages/?page_size=4").json()
    assert first["previous"] is None
    second = client.get(_path(first["next"])).json()
    assert [m["id"] for m in second["results"]] == expected[4:8]
    back = client.get(_path(second["previous"])).json()
    assert [m["id"] for m in back["results"]] == expected[:4]
    assert back["previous"] is None
    assert [m["id"] for m in client.get(_path(back["next"])).json()["results"]] == expected[4:8]
    last = client.get(_path(second["next"])).json()
    assert [m["id"] for m in last["results"]] == expected[8:]
    assert last["next"] is None
    assert parse_qs(urlsplit(first["next"]).query)["page_size"] == ["4"]


def test_cursor_of_another_ordering_is_refused(org_a, rows, client_for) -> None:
    r = rows(org_a)
    for _ in range(3):
        r.message()
    client = client_for(org_a)
    nxt = client.get("/api/v1/messages/?page_size=1").json()["next"]
    cursor = parse_qs(urlsplit(nxt).query)["cursor"][0]
    response = client.get(f"/api/v1/messages/?ordering=timestamp&cursor={cursor}")
    assert response.status_code == 400


def test_contacts_list_orders_by_last_seen_with_never_seen_contacts(org_a, rows, client_for):
    r = rows(org_a)
    seen = [r.contact(last_seen=T0 + timedelta(hours=i)) for i in range(4)]
    unseen = [r.contact(last_seen=None) for _ in range(3)]
    client = client_for(org_a)
    # PostgreSQL order: NULLs first when descending, last when ascending.
    expected_desc = [c.pk for c in sorted(unseen, key=lambda c: c.pk, reverse=True)] + [
        c.pk for c in reversed(seen)
    ]
    got = [c["id"] for c in _walk(client, "/api/v1/contacts/?page_size=2")]
    assert got == expected_desc
    got_asc = [c["id"] for c in _walk(client, "/api/v1/contacts/?page_size=2&ordering=last_seen")]
    assert got_asc == expected_desc[::-1]
    item = client.get("/api/v1/contacts/?page_size=1").json()["results"][0]
    assert set(item) == {"id", "wa_id", "user_id", "username", "name", "first_seen", "last_seen",
                         "opted_out_at", "opt_out_source"}  # fmt: skip


def test_contact_filters(org_a, rows, client_for) -> None:
    r = rows(org_a)
    ana = r.contact(wa_id="1555999001", name="Ana Lima", last_seen=T0 + timedelta(days=5))
    r.contact(wa_id="1555999002", name="Bob", last_seen=T0)
    client = client_for(org_a)
    assert [c["id"] for c in client.get("/api/v1/contacts/?q=lima").json()["results"]] == [ana.pk]
    assert [
        c["id"] for c in client.get("/api/v1/contacts/?wa_id=1555999001").json()["results"]
    ] == [ana.pk]
    since = (T0 + timedelta(days=1)).isoformat().replace("+", "%2B")
    assert ana.pk in {
        c["id"] for c in client.get(f"/api/v1/contacts/?since={since}").json()["results"]
    }


def test_contact_detail_has_its_recent_conversation(org_a, rows, client_for) -> None:
    r = rows(org_a)
    ana, bob = r.contact(), r.contact()
    mine = [r.message(ana) for _ in range(3)]
    r.message(bob)
    body = client_for(org_a).get(f"/api/v1/contacts/{ana.pk}/").json()
    assert body["wa_id"] == ana.wa_id
    assert [m["id"] for m in body["messages"]] == [m.pk for m in reversed(mine)]
    assert body["messages_url"].endswith(f"/api/v1/messages/?contact={ana.pk}")


def test_message_detail_and_404(org_a, rows, client_for) -> None:
    message = rows(org_a).message()
    client = client_for(org_a)
    assert client.get(f"/api/v1/messages/{message.pk}/").json()["wamid"] == message.wamid
    missing = client.get(f"/api/v1/messages/{message.pk + 10_000}/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_media_list_detail_and_download(org_a, rows, client_for) -> None:
    r = rows(org_a)
    stored = r.media(content=b"%PDF-1.7 bytes", mime_type="application/pdf",
                     original_filename='../../etc/"inv\r\noice" ü.pdf')  # fmt: skip
    pending = r.media(content=None)
    client = client_for(org_a)
    items = {m["id"]: m for m in client.get("/api/v1/media/").json()["results"]}
    assert set(items[stored.pk]) == {
        "id", "message", "mime_type", "size", "sha256", "state", "download_url",
    }  # fmt: skip
    assert items[stored.pk]["message"] == stored.message_id
    assert items[stored.pk]["size"] == len(b"%PDF-1.7 bytes")
    assert items[pending.pk]["download_url"] is None
    url = items[stored.pk]["download_url"]
    assert url.endswith(f"/api/v1/media/{stored.pk}/download/")
    assert "/media/tenants/" not in url  # never the storage location

    assert client.get(f"/api/v1/media/{stored.pk}/").json() == items[stored.pk]
    assert [
        m["id"] for m in client.get("/api/v1/media/?mime_type=application/").json()["results"]
    ] == [stored.pk]

    download = client.get(urlsplit(url).path, HTTP_ACCEPT="image/*")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.7 bytes"
    assert download["Content-Type"] == "application/pdf"
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert disposition == 'attachment; filename="inv_oice_ u.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"

    not_stored = client.get(f"/api/v1/media/{pending.pk}/download/")
    assert not_stored.status_code == 404
    assert not_stored.json()["error"]["code"] == "media_not_stored"


def test_download_of_unsafe_mime_type_is_octet_stream(org_a, rows, client_for) -> None:
    media = rows(org_a).media(content=b"<script>", mime_type="text/html\r\nX-Evil: 1")
    response = client_for(org_a).get(f"/api/v1/media/{media.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert "X-Evil" not in response


LISTS = [
    "/api/v1/messages/",
    "/api/v1/messages/incoming/",
    "/api/v1/messages/outgoing/",
    "/api/v1/media/",
    "/api/v1/contacts/",
    "/api/v1/api-keys/",
]


@pytest.mark.parametrize("url", LISTS)
def test_list_query_count_does_not_grow_with_rows(org_a, rows, client_for, api_key, url) -> None:
    client = client_for(org_a)

    def add(n: int) -> None:
        r = rows(org_a)
        for i in range(n):
            contact = r.contact()
            message = r.message(contact, direction=("incoming", "outgoing")[i % 2])
            r.media(r.message(contact, type="image"), content=None)
            assert message
            api_key(org_a)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        assert response.json()["results"]
        return len([q for q in ctx.captured_queries if not q["sql"].startswith("SET ")])

    add(2)
    small = count()
    add(20)
    assert count() == small
    # Host lookup, user, membership (+ admin check for keys), the page itself; nothing per row.
    assert small <= 5


def test_contact_detail_query_count_is_constant(org_a, rows, client_for) -> None:
    r = rows(org_a)
    contact = r.contact()
    client = client_for(org_a)
    r.message(contact)
    with CaptureQueriesContext(connection) as few:
        client.get(f"/api/v1/contacts/{contact.pk}/")
    for _ in range(15):
        r.media(r.message(contact, type="image"), content=None)
    with CaptureQueriesContext(connection) as many:
        client.get(f"/api/v1/contacts/{contact.pk}/")
    assert len(many.captured_queries) == len(few.captured_queries)


def test_deep_pages_use_the_keyset_not_an_offset(org_a, rows, client_for) -> None:
    r = rows(org_a)
    for _ in range(5):
        r.message()
    client = client_for(org_a)
    nxt = client.get("/api/v1/messages/?page_size=2").json()["next"]
    with CaptureQueriesContext(connection) as ctx:
        client.get(_path(nxt))
    page_sql = [q["sql"] for q in ctx.captured_queries if "whatsapp_whatsappmessage" in q["sql"]]
    assert len(page_sql) == 1
    assert "ROW(" in page_sql[0]
    assert "OFFSET" not in page_sql[0]
    assert WhatsAppMessage._meta.ordering == ["-timestamp", "-id"]
