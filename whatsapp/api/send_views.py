"""Send API (thin: serializer → one service → serializer).

`POST /api/v1/messages/send/` stores the message `queued` and answers 202 with it; the
post_save signal's task sends it (one pipeline for API, ORM, admin and campaigns), so the
answer's `status` is `queued` and later states are read from `GET /api/v1/messages/<id>/`.
`POST /api/v1/messages/<id>/read/` sends the read receipt of an incoming message.
Domain errors become `{"error": {"code", "message", "fields"}}` (whatsapp.api.exceptions).
Isolation: the request runs in the host organization's schema and authentication refuses
credentials of any other organization, so only the host's rows and numbers are reachable.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from whatsapp.api.send_serializers import OutboundMessageSerializer, SendMessageSerializer
from whatsapp.errors import InvalidContentError
from whatsapp.message_templates.services.send import template_send_content
from whatsapp.models import WhatsAppMessage
from whatsapp.services.outbound import message_create, message_create_once
from whatsapp.services.read_receipts import message_mark_read

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 255


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise InvalidContentError(
            f"{IDEMPOTENCY_HEADER} must be 1-{IDEMPOTENCY_KEY_MAX} printable characters.",
            field=IDEMPOTENCY_HEADER,
        )
    return key


class SendMessageView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        tags=["messages"],
        request={
            "application/json": SendMessageSerializer,
            "multipart/form-data": SendMessageSerializer,
        },
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="Any unique string (a UUID): retrying a send with the same key "
                "returns the message created the first time (200), never a second message.",
            )
        ],
        responses={202: OutboundMessageSerializer, 200: OutboundMessageSerializer},
    )
    def post(self, request: Request) -> Response:
        key = _idempotency_key(request)
        serializer = SendMessageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["type"] == "template":
            # Checked against the stored template and built in Meta's shape before anything
            # is stored or queued (whatsapp.message_templates.services.send).
            data["content"] = template_send_content(
                content=data["content"], phone_number_id=data.get("phone_number_id") or None
            )
        fields = {
            "to": data["to"],
            "message_type": data["type"],
            "content": data["content"],
            "reply_to": data.get("reply_to") or "",
            "phone_number_id": data.get("phone_number_id") or None,
            "upload": data.get("file"),
            "created_by": request.user,
        }
        replayed = False
        if key is None:
            message = message_create(**fields)
        else:
            message, replayed = message_create_once(idempotency_key=key, **fields)
        response = Response(
            OutboundMessageSerializer(message).data,
            status=status.HTTP_200_OK if replayed else status.HTTP_202_ACCEPTED,
        )
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class MarkReadView(APIView):
    @extend_schema(tags=["messages"], request=None, responses={200: OutboundMessageSerializer})
    def post(self, request: Request, pk: int) -> Response:
        message = get_object_or_404(WhatsAppMessage.objects.all(), pk=pk)
        message = message_mark_read(
            message=message, typing_indicator=bool(request.data.get("typing_indicator"))
        )
        return Response(OutboundMessageSerializer(message).data)
