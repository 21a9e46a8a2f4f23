"""Media: multipart upload, lookup, signed download with bearer, expiry, limits, delete."""

from __future__ import annotations

import hashlib
import time

import httpx

from tests.sandbox.conftest import PNID, TOKEN


def upload(graph: httpx.Client, data: bytes, mime: str, filename: str = "f.bin", **form):
    fields = {"messaging_product": "whatsapp", "type": mime} | form
    return graph.post(f"/{PNID}/media", data=fields, files={"file": (filename, data, mime)})


def test_upload_lookup_download(sandbox, graph):
    data = b"\xff\xd8\xff\xe0" + b"jpeg bytes" * 100
    response = upload(graph, data, "image/jpeg", "photo.jpg")
    assert response.status_code == 200, response.text
    media_id = response.json()["id"]
    assert set(response.json()) == {"id"}

    info = graph.get(f"/{media_id}").json()
    assert info["messaging_product"] == "whatsapp"
    assert info["id"] == media_id
    assert info["mime_type"] == "image/jpeg"
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["file_size"] == len(data)
    assert "/_sandbox/media/" in info["url"]

    downloaded = httpx.get(info["url"], headers={"Authorization": f"Bearer {TOKEN}"})
    assert downloaded.status_code == 200
    assert downloaded.content == data
    assert downloaded.headers["content-type"] == "image/jpeg"

    without = httpx.get(info["url"])
    assert without.status_code == 401
    assert without.json()["error"]["code"] == 190

    tampered = httpx.get(info["url"].replace("sig=", "sig=0"), headers=graph.headers)
    assert tampered.status_code == 404


def test_download_url_expires(sandbox, graph):
    # Long enough that a loaded machine still downloads within it, short enough to wait out.
    sandbox.update_config(media_url_ttl=1.5)
    media_id = upload(graph, b"%PDF-1.4 doc", "application/pdf", "a.pdf").json()["id"]
    url = graph.get(f"/{media_id}").json()["url"]
    assert httpx.get(url, headers=graph.headers).status_code == 200
    time.sleep(1.6)
    assert httpx.get(url, headers=graph.headers).status_code == 404
    # A fresh lookup gives a working URL again.
    fresh = graph.get(f"/{media_id}").json()["url"]
    assert httpx.get(fresh, headers=graph.headers).status_code == 200


def test_inbound_media_is_downloadable(sandbox, graph):
    message = sandbox.customer_sends(PNID, "+15551234567", "audio", voice=True)["message"]
    audio = message["audio"]
    assert audio["mime_type"] == "audio/ogg; codecs=opus"
    assert audio["voice"] is True
    info = graph.get(f"/{audio['id']}").json()
    content = httpx.get(info["url"], headers=graph.headers).content
    assert hashlib.sha256(content).hexdigest() == audio["sha256"] == info["sha256"]
    given = sandbox.customer_sends(
        PNID, "+15551234567", "image", data=b"PNGDATA", mime_type="image/png"
    )
    image = given["message"]["image"]
    assert image["sha256"] == hashlib.sha256(b"PNGDATA").hexdigest()
    assert image["mime_type"] == "image/png"


def test_size_limits_and_types(sandbox, graph):
    big_sticker = upload(graph, b"R" * (500 * 1024 + 1), "image/webp", "s.webp")
    assert big_sticker.status_code == 400
    assert big_sticker.json()["error"]["code"] == 131053
    big_image = upload(graph, b"J" * (5 * 1024 * 1024 + 1), "image/jpeg", "big.jpg")
    assert big_image.json()["error"]["code"] == 131053
    assert upload(graph, b"ok", "video/mp4", "v.mp4").status_code == 200
    assert upload(graph, b"x", "application/x-msdownload").json()["error"]["code"] == 131053
    wrong_product = upload(graph, b"x", "image/png", messaging_product="sms")
    assert wrong_product.json()["error"]["code"] == 100
    no_file = graph.post(
        f"/{PNID}/media",
        data={"messaging_product": "whatsapp"},
        files={"other": ("a", b"b", "text/plain")},
    )
    assert "file" in no_file.json()["error"]["error_data"]["details"]


def test_unknown_and_deleted_media(sandbox, graph):
    error = graph.get("/999999").json()["error"]
    assert error["code"] == 100
    assert error["error_subcode"] == 33
    assert "Object with ID '999999' does not exist" in error["message"]
    media_id = upload(graph, b"text", "text/plain", "a.txt").json()["id"]
    response = graph.delete(f"/{media_id}")
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert graph.get(f"/{media_id}").status_code == 400
