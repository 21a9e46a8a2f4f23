"""Unit tests of GraphClient's media endpoints (Meta: media): lookup (string or numeric
file_size), download (bearer header, redirects, size cap), upload (multipart) and delete. The
HTTP boundary is faked with `httpx.MockTransport` (see fakes.py); no network, no Django.

Meta pages:
- media: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media/
"""

from __future__ import annotations

import httpx
import pytest

from whatsapp.graph.errors import GraphError, GraphMediaTooLargeError, GraphPermanentError
from whatsapp.graph.types import MediaInfo, UploadedMedia

from .fakes import TOKEN, graph_error

LOOKUP = {
    "messaging_product": "whatsapp",
    "url": "https://lookaside.test/whatsapp_business/attachments/?mid=1&ext=2&hash=abc",
    "mime_type": "image/jpeg",
    "sha256": "f" * 64,
    "file_size": "303833",
    "id": "1037543291543636",
}


@pytest.mark.parametrize("size", ["303833", 303833, 303833.0])
def test_get_media_url_parses_string_or_number_file_size(make_client, size):
    client, fake = make_client(
        lambda request: httpx.Response(200, json={**LOOKUP, "file_size": size})
    )
    info = client.get_media_url("1037543291543636", phone_number_id="1065")
    assert info == MediaInfo(
        id="1037543291543636",
        url=LOOKUP["url"],
        mime_type="image/jpeg",
        sha256="f" * 64,
        file_size=303833,
    )
    request = fake.requests[0]
    assert request.url.path == "/v25.0/1037543291543636"
    assert request.url.params["phone_number_id"] == "1065"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_get_media_url_tolerates_missing_size(make_client):
    body = {k: v for k, v in LOOKUP.items() if k != "file_size"}
    client, _ = make_client(lambda request: httpx.Response(200, json=body))
    assert client.get_media_url("1").file_size == 0


def test_unknown_media_id_is_permanent(make_client):
    client, _ = make_client(lambda request: graph_error(100))
    with pytest.raises(GraphPermanentError):
        client.get_media_url("nope")


def test_download_sends_bearer_and_follows_redirects(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/whatsapp_business/attachments/":
            return httpx.Response(302, headers={"location": "https://lookaside.test/blob/1"})
        return httpx.Response(200, content=b"JPEGDATA")

    client, fake = make_client(handler)
    assert client.download_media(LOOKUP["url"], max_bytes=1024) == b"JPEGDATA"
    assert [r.url.path for r in fake.requests] == ["/whatsapp_business/attachments/", "/blob/1"]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)


def test_download_does_not_carry_the_token_to_another_host(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "lookaside.test":
            return httpx.Response(302, headers={"location": "https://cdn.elsewhere.test/blob"})
        return httpx.Response(200, content=b"DATA")

    client, fake = make_client(handler)
    assert client.download_media(LOOKUP["url"], max_bytes=1024) == b"DATA"
    assert "authorization" not in fake.requests[1].headers


def test_download_enforces_max_bytes_by_header_and_by_stream(make_client):
    client, _ = make_client(lambda request: httpx.Response(200, content=b"x" * 2048))
    with pytest.raises(GraphMediaTooLargeError):
        client.download_media(LOOKUP["url"], max_bytes=1024)

    def no_length(request: httpx.Request) -> httpx.Response:
        chunks = iter([b"x" * 600, b"x" * 600])
        return httpx.Response(200, content=chunks)  # streamed, no content-length

    client, _ = make_client(no_length)
    with pytest.raises(GraphMediaTooLargeError):
        client.download_media(LOOKUP["url"], max_bytes=1024)
    assert client.download_media(LOOKUP["url"], max_bytes=1200) == b"x" * 1200


def test_download_of_an_expired_url_raises_with_status(make_client):
    client, _ = make_client(lambda request: httpx.Response(404, text="<html>gone</html>"))
    with pytest.raises(GraphError) as info:
        client.download_media(LOOKUP["url"], max_bytes=1024)
    assert info.value.http_status == 404


def test_upload_media_is_multipart_with_type_and_product(make_client):
    client, fake = make_client(lambda request: httpx.Response(200, json={"id": "4490709327"}))
    uploaded = client.upload_media(
        "1065", filename="photo.jpg", content=b"\xff\xd8JPEG", mime_type="image/jpeg"
    )
    assert uploaded == UploadedMedia(id="4490709327")
    request = fake.requests[0]
    assert request.url.path == "/v25.0/1065/media"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    body = request.content
    assert b'name="file"; filename="photo.jpg"' in body
    assert b"Content-Type: image/jpeg" in body
    assert b"\xff\xd8JPEG" in body
    assert b'name="type"\r\n\r\nimage/jpeg' in body
    assert b'name="messaging_product"\r\n\r\nwhatsapp' in body


def test_delete_media(make_client):
    client, fake = make_client(lambda request: httpx.Response(200, json={"success": True}))
    client.delete_media("4490709327", phone_number_id="1065")
    assert fake.requests[0].method == "DELETE"
    assert fake.requests[0].url.path == "/v25.0/4490709327"
