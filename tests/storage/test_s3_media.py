"""Media on S3-compatible storage (django-storages) against a real S3 server (moto's server
mode): the environment switch, inbound media stored under the tenant's prefix, and short-lived
download links that redirect to pre-signed URLs, expire, and work on the issuing organization's
host only."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client

from tests.clients import admin_client

from .conftest import BUCKET, inbound_image_stored, storages_from_env

pytestmark = pytest.mark.integration

CUSTOMER = "4915123400099"
IMAGE = b"\x89PNG\r\n\x1a\n s3 media bytes"


def test_the_environment_switches_media_between_filesystem_and_s3():
    local = storages_from_env({"STORAGE_BACKEND": "filesystem"})
    assert local["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    s3 = storages_from_env(
        {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": "b",
            "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        }
    )
    assert s3["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    options = s3["default"]["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"]) == ("b", "http://127.0.0.1:9")
    assert options["default_acl"] == "private" and options["querystring_auth"] is True
    assert options["file_overwrite"] is False


def _link(org, media_id: int, **body) -> dict:
    response = admin_client(org).post(
        f"/api/v1/media/{media_id}/link/", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_inbound_media_is_stored_in_s3_under_the_tenants_prefix(
    s3_media, sender_a, sandbox, celery_worker, webhook_worker
):
    media = inbound_image_stored(sender_a, sandbox, data=IMAGE, customer=CUSTOMER)
    assert media.file.name.startswith(f"tenants/{sender_a.org.org_id}/media/")
    obj = s3_media.client().get_object(Bucket=BUCKET, Key=media.file.name)
    assert obj["Body"].read() == IMAGE
    # Private: the object is not readable without a signature.
    assert httpx.get(f"{s3_media.endpoint_url}/{BUCKET}/{media.file.name}").status_code == 403


def test_a_download_link_redirects_to_a_presigned_url_until_it_expires(
    s3_media, sender_a, sandbox, celery_worker, webhook_worker
):
    media = inbound_image_stored(sender_a, sandbox, data=IMAGE, customer=CUSTOMER)
    link = _link(sender_a.org, media.pk, ttl_seconds=10)
    anonymous = Client(HTTP_HOST=sender_a.org.host)
    answer = anonymous.get(link["url"])
    assert answer.status_code == 302
    presigned = answer["Location"]
    assert presigned.startswith(f"{s3_media.endpoint_url}/{BUCKET}/tenants/{sender_a.org.org_id}/")
    # The signature expires with the link (moto does not enforce X-Amz-Expires; S3 does).
    query = parse_qs(urlsplit(presigned).query)
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    signed_until = signed_at + timedelta(seconds=int(query["X-Amz-Expires"][0]))
    link_until = datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))
    assert 1 <= int(query["X-Amz-Expires"][0]) <= 10
    assert signed_until <= link_until
    fetched = httpx.get(presigned)
    assert fetched.status_code == 200 and fetched.content == IMAGE
    assert fetched.headers["content-disposition"].startswith("attachment;")
    # A link past its expiry answers 410 (no redirect, no bytes).
    short = _link(sender_a.org, media.pk, ttl_seconds=1)
    time.sleep(1.1)
    expired = anonymous.get(short["url"])
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "media_link_expired"


def test_another_organization_cannot_use_or_issue_links_to_its_media(
    s3_media, sender_a, sender_b, sandbox, celery_worker, webhook_worker
):
    media = inbound_image_stored(sender_a, sandbox, data=IMAGE, customer=CUSTOMER)
    link = _link(sender_a.org, media.pk)
    token_path = link["url"].split(sender_a.org.host, 1)[1]
    other_host = Client(HTTP_HOST=sender_b.org.host)
    refused = other_host.get(token_path)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "media_link_invalid"
    # The id means nothing in beta's schema: beta's admin cannot get a link to it either.
    beta = admin_client(sender_b.org).post(
        f"/api/v1/media/{media.pk}/link/", {}, "application/json"
    )
    assert beta.status_code == 404
    # A token altered to name another file is refused.
    assert Client(HTTP_HOST=sender_a.org.host).get(token_path[:-3] + "xyz/").status_code == 404


def test_on_the_filesystem_a_link_serves_the_bytes_itself(
    sender_a, sandbox, celery_worker, webhook_worker
):
    media = inbound_image_stored(sender_a, sandbox, data=IMAGE, customer=CUSTOMER)
    link = _link(sender_a.org, media.pk)
    answer = Client(HTTP_HOST=sender_a.org.host).get(link["url"])
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == IMAGE
    assert answer["Content-Disposition"].startswith("attachment;")
