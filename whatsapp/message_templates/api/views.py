"""Templates API (thin: serializer -> one service -> serializer).

`GET/POST /api/v1/templates/`, `GET/PATCH/DELETE /api/v1/templates/{id}/`,
`POST /api/v1/templates/sync/`, `POST /api/v1/templates/header-handles/` (a media header's
example, uploaded with Meta's resumable upload API). Runs in the host organization's schema: another
organization's templates are not reachable (404).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListCreateAPIView, RetrieveUpdateDestroyAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from whatsapp.api.pagination import KeysetPagination
from whatsapp.message_templates.api.filters import TemplateFilter
from whatsapp.message_templates.api.serializers import (
    HeaderHandleResultSerializer,
    HeaderHandleSerializer,
    TemplateCreateSerializer,
    TemplateDeleteSerializer,
    TemplateDetailSerializer,
    TemplateEditSerializer,
    TemplateSerializer,
    TemplateSyncResultSerializer,
    TemplateSyncSerializer,
)
from whatsapp.message_templates.models import MessageTemplate
from whatsapp.message_templates.services.lifecycle import (
    template_create,
    template_delete,
    template_edit,
    template_header_handle,
)
from whatsapp.message_templates.services.sync import templates_sync


@extend_schema(tags=["templates"])
class TemplateList(ListCreateAPIView):
    """The organization's templates by name; filters status, category, language, name."""

    serializer_class = TemplateSerializer
    filterset_class = TemplateFilter
    pagination_class = KeysetPagination
    ordering_options = {"name": ("name", "id"), "-updated_at": ("-updated_at", "-id")}
    default_ordering = "name"

    def get_queryset(self) -> Any:
        return MessageTemplate.objects.all()

    @extend_schema(request=TemplateCreateSerializer, responses={201: TemplateSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Check the template with Meta's review rules (400 naming the field), submit it to
        Meta and store it (usually PENDING; the status webhook moves it on)."""
        payload = TemplateCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        definition = dict(payload.validated_data)
        waba_id = definition.pop("waba_id", None)
        # The review checks see what the caller sent, not what the serializer normalised.
        definition["components"] = request.data.get("components")
        template = template_create(definition=definition, waba_id=waba_id)
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["templates"])
class TemplateDetail(RetrieveUpdateDestroyAPIView):
    serializer_class = TemplateDetailSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        return MessageTemplate.objects.all()

    @extend_schema(request=TemplateEditSerializer, responses={200: TemplateDetailSerializer})
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Edit the components and/or category at Meta (local review checks first, 400 naming
        the field); the template goes back to PENDING."""
        payload = TemplateEditSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        if "components" in changes:
            changes["components"] = request.data.get("components")
        template = template_edit(template=self.get_object(), **changes)
        return Response(TemplateDetailSerializer(template).data)

    @extend_schema(parameters=[TemplateDeleteSerializer], responses={204: None})
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete at Meta and here: this language, or `?all_languages=true` every language."""
        options = TemplateDeleteSerializer(data=request.query_params)
        options.is_valid(raise_exception=True)
        template_delete(
            template=self.get_object(), all_languages=options.validated_data["all_languages"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplateSync(APIView):
    @extend_schema(
        tags=["templates"],
        request=TemplateSyncSerializer,
        responses={200: TemplateSyncResultSerializer},
    )
    def post(self, request: Request) -> Response:
        """Fetch every template from Meta now (all pages); 429 when Meta's budget is spent."""
        payload = TemplateSyncSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        result = templates_sync(waba_id=payload.validated_data.get("waba_id"))
        return Response(
            TemplateSyncResultSerializer(
                {
                    "wabas": list(result.wabas),
                    "created": result.created,
                    "updated": result.updated,
                    "deleted_at_meta": result.deleted_at_meta,
                }
            ).data
        )


class TemplateHeaderHandle(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["templates"],
        request={"multipart/form-data": HeaderHandleSerializer},
        responses={201: HeaderHandleResultSerializer},
    )
    def post(self, request: Request) -> Response:
        """Upload a media header's example (Meta's resumable upload API) and get its handle."""
        payload = HeaderHandleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        handle = template_header_handle(
            header_format=payload.validated_data["format"], upload=payload.validated_data["file"]
        )
        return Response({"handle": handle}, status=status.HTTP_201_CREATED)
