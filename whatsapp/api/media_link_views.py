"""Short-lived download links for media (whatsapp.services.media_links).

`POST /api/v1/media/<id>/link/` (authenticated, this organization's media) issues a link;
`GET /api/v1/media/link/<token>/` (no authentication: the signed token is the credential, valid
on the issuing organization's host only, until it expires) answers with the file, or with a
redirect to a pre-signed URL of the S3 object that expires with the link.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from whatsapp import selectors
from whatsapp.api.views import (
    _AnyAccept,
    media_file_response,
    safe_content_type,
    safe_filename,
)
from whatsapp.models import WhatsAppMedia
from whatsapp.services.media_links import (
    media_link_create,
    media_link_redirect_url,
    media_link_resolve,
)


class MediaLinkRequestSerializer(serializers.Serializer):
    ttl_seconds = serializers.IntegerField(
        required=False, min_value=1, help_text="Lifetime in seconds (capped by the platform)."
    )


@extend_schema(
    tags=["media"],
    request=MediaLinkRequestSerializer,
    responses={
        201: inline_serializer(
            "MediaLink",
            {"url": serializers.URLField(), "expires_at": serializers.DateTimeField()},
        )
    },
)
class MediaLinkCreateView(APIView):
    """A short-lived download link to a stored media file of this organization."""

    def post(self, request: Request, pk: int) -> Response:
        params = MediaLinkRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        media = get_object_or_404(selectors.media_list(), pk=pk)
        if media.state != WhatsAppMedia.State.STORED or not media.file:
            raise NotFound("This media file is not stored (yet).", code="media_not_stored")
        link = media_link_create(media=media, ttl_seconds=params.validated_data.get("ttl_seconds"))
        path = reverse("api_media_link_download", kwargs={"token": link.token})
        return Response(
            {"url": request.build_absolute_uri(path), "expires_at": link.expires_at},
            status=status.HTTP_201_CREATED,
        )


@extend_schema(
    tags=["media"],
    auth=[],
    responses={
        (200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file's bytes."),
        302: OpenApiResponse(description="Redirect to a pre-signed URL of the stored object."),
    },
)
class MediaLinkDownloadView(APIView):
    """The file a download link names (no other credentials; 410 once expired)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    content_negotiation_class = _AnyAccept

    def get(self, request: Request, token: str) -> Any:
        media, expires = media_link_resolve(token=token)
        target = media_link_redirect_url(
            media=media,
            expires=expires,
            filename=safe_filename(media),
            content_type=safe_content_type(media.mime_type),
        )
        if target is None:
            return media_file_response(media)
        response = HttpResponseRedirect(target)
        response["Cache-Control"] = "private, no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response
