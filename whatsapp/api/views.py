"""Read API of an organization's messages, contacts and media (thin: selectors + serializers).

Isolation comes from the host: django-tenants puts the request in the host organization's
schema, and both authentication classes refuse credentials of any other organization, so a
queryset here can only ever see the host organization's rows.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from typing import Any

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.permissions import IsOrgAdmin
from whatsapp import selectors
from whatsapp.api.filters import ContactFilter, MediaFilter, MessageFilter
from whatsapp.api.pagination import KeysetPagination
from whatsapp.api.serializers import (
    ContactDetailSerializer,
    ContactMergeResultSerializer,
    ContactMergeSerializer,
    ContactSerializer,
    MediaSerializer,
    MessageSerializer,
)
from whatsapp.models import Contact, WhatsAppMedia, WhatsAppMessage
from whatsapp.services.contacts import contact_merge

MESSAGE_ORDERINGS = {"-timestamp": ("-timestamp", "-id"), "timestamp": ("timestamp", "id")}


class _KeysetList(ListAPIView):
    pagination_class = KeysetPagination
    filter_backends = [DjangoFilterBackend]


@extend_schema(tags=["messages"])
class WhatsAppMessageList(_KeysetList):
    """All messages, newest first."""

    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    ordering_options = MESSAGE_ORDERINGS
    default_ordering = "-timestamp"
    direction: str | None = None

    def get_queryset(self) -> Any:
        return selectors.message_list(direction=self.direction)


@extend_schema(tags=["messages"])
class IncomingMessageList(WhatsAppMessageList):
    """Messages received from contacts, newest first."""

    direction = WhatsAppMessage.Direction.INCOMING


@extend_schema(tags=["messages"])
class OutgoingMessageList(WhatsAppMessageList):
    """Messages sent by the organization, newest first."""

    direction = WhatsAppMessage.Direction.OUTGOING


@extend_schema(tags=["messages"])
class WhatsAppMessageDetail(RetrieveAPIView):
    serializer_class = MessageSerializer

    def get_queryset(self) -> Any:
        return selectors.message_list()


@extend_schema(tags=["contacts"])
class ContactList(_KeysetList):
    """Contacts, most recently seen first."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    ordering_options = {
        "-last_seen": ("-last_seen", "-id"),
        "last_seen": ("last_seen", "id"),
        "-id": ("-id",),
        "id": ("id",),
    }
    default_ordering = "-last_seen"

    def get_queryset(self) -> Any:
        return selectors.contact_list()


@extend_schema(tags=["contacts"])
class ContactDetail(RetrieveAPIView):
    """A contact with the latest messages of its conversation."""

    serializer_class = ContactDetailSerializer

    def get_queryset(self) -> Any:
        return selectors.contact_list()

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact: Contact = self.get_object()
        context = {
            **self.get_serializer_context(),
            "recent_messages": selectors.contact_recent_messages(contact=contact),
        }
        return Response(ContactDetailSerializer(contact, context=context).data)


@extend_schema(
    tags=["contacts"],
    request=ContactMergeSerializer,
    responses={201: ContactMergeResultSerializer},
)
class ContactMergeView(APIView):
    """Merge another contact of this organization into this one (org admins only): its
    messages, window and opt-out move here, the other contact is deleted, an audit row stays."""

    permission_classes = [IsOrgAdmin]

    def post(self, request: Request, pk: int) -> Response:
        survivor = get_object_or_404(selectors.contact_list(), pk=pk)
        body = ContactMergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        merged_id = body.validated_data["merged_id"]
        # Another organization's contact id is simply not in this schema: 404.
        get_object_or_404(selectors.contact_list(), pk=merged_id)
        audit = contact_merge(
            survivor_id=survivor.pk,
            merged_id=merged_id,
            reason=body.validated_data["reason"],
            actor=f"user:{request.user.pk}",
        )
        return Response(ContactMergeResultSerializer(audit).data, status=201)


@extend_schema(tags=["media"])
class WhatsAppMediaList(_KeysetList):
    """Media files of messages, newest first."""

    serializer_class = MediaSerializer
    filterset_class = MediaFilter
    # The primary key grows with creation time and is indexed; created_at is not.
    ordering_options = {"-id": ("-id",), "id": ("id",)}
    default_ordering = "-id"

    def get_queryset(self) -> Any:
        return selectors.media_list()


@extend_schema(tags=["media"])
class WhatsAppMediaDetail(RetrieveAPIView):
    serializer_class = MediaSerializer

    def get_queryset(self) -> Any:
        return selectors.media_list()


class _AnyAccept(BaseContentNegotiation):
    """A download answers bytes whatever the Accept header; errors are still JSON."""

    def select_parser(self, request: Request, parsers: list) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: list, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_content_type(mime_type: str) -> str:
    base = mime_type.split(";", 1)[0].strip().lower()
    return base if _MIME.match(base) else "application/octet-stream"


def safe_filename(media: WhatsAppMedia) -> str:
    """The sender's filename reduced to a harmless ASCII basename, else `media-<id><ext>`."""
    name = PurePosixPath(media.original_filename.replace("\\", "/")).name
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    name = _UNSAFE_NAME.sub("_", name).strip(" ._-")[:120]
    if not name:
        return f"media-{media.pk}{media.extension}"
    if "." not in name:
        name += media.extension
    return name


@extend_schema(
    tags=["media"],
    responses={
        (200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file's bytes."),
    },
)
class WhatsAppMediaDownload(APIView):
    """The bytes of a stored media file, from storage, as an attachment."""

    content_negotiation_class = _AnyAccept

    def get(self, request: Request, pk: int) -> FileResponse:
        media = get_object_or_404(selectors.media_list(), pk=pk)
        if media.state != WhatsAppMedia.State.STORED or not media.file:
            raise NotFound("This media file is not stored (yet).", code="media_not_stored")
        return media_file_response(media)


def media_file_response(media: WhatsAppMedia) -> FileResponse:
    """The stored file's bytes as an attachment, with headers that keep a browser from running
    them; NotFound if the storage lost the file."""
    try:
        handle = media.file.open("rb")
    except FileNotFoundError as exc:
        raise NotFound("This media file is missing from storage.", code="media_missing") from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=safe_filename(media),
        content_type=safe_content_type(media.mime_type),
    )
    # The bytes came from a stranger: never let a browser run them on the org's host.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
