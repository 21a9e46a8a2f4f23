"""Campaigns API (under /api/v1/campaigns/). Thin: serializer -> one service -> serializer.
Each request runs in the host organization's schema, so only its campaigns are reachable."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from whatsapp.api.pagination import InvalidQueryParameter, KeysetPagination
from whatsapp.campaigns.api import serializers as s
from whatsapp.campaigns.models import Campaign, CampaignRecipient
from whatsapp.campaigns.services.execution import (
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_retry,
    campaign_start,
)
from whatsapp.campaigns.services.planning import campaign_create, campaign_get, campaign_plan
from whatsapp.campaigns.services.progress import (
    STATES,
    campaign_failures,
    campaign_progress,
    campaign_results_csv,
    recipients_with_state,
)

TAG = ["campaigns"]


def campaign_detail(campaign: Campaign) -> dict:
    """The detail representation: the campaign, its progress and failures by reason."""
    data = s.CampaignSerializer(campaign).data
    data["progress"] = campaign_progress(campaign=campaign)
    data["failures"] = campaign_failures(campaign_id=campaign.pk)
    return data


@extend_schema(tags=TAG)
class CampaignListCreate(generics.ListAPIView):
    """Campaigns, newest first; POST creates a draft."""

    serializer_class = s.CampaignSerializer
    pagination_class = KeysetPagination
    ordering_options = {"-id": ("-id",), "id": ("id",)}
    default_ordering = "-id"
    queryset = Campaign.objects.all()

    @extend_schema(request=s.CampaignCreateSerializer, responses={201: s.CampaignSerializer})
    def post(self, request: Request) -> Response:
        serializer = s.CampaignCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_id = request.user.pk if getattr(request.user, "is_authenticated", False) else None
        campaign = campaign_create(**serializer.validated_data, created_by_id=user_id)
        return Response(s.CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetail(APIView):
    @extend_schema(tags=TAG, responses=s.CampaignDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        """The campaign with its counts by state, rate (sends/s), ETA and failures by reason."""
        return Response(campaign_detail(campaign_get(campaign_id=pk)))


class CampaignPlan(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(tags=TAG, request=s.PlanSerializer, responses=s.CampaignDetailSerializer)
    def post(self, request: Request, pk: int) -> Response:
        """Resolve the audience (with the CSV file for a CSV campaign, multipart `csv`),
        freeze each recipient's variables and store the flight plan (`plan`)."""
        serializer = s.PlanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data.get("csv")
        campaign = campaign_plan(campaign_id=pk, csv_data=upload.read() if upload else None)
        return Response(campaign_detail(campaign))


def _action(service, description: str):
    class Action(APIView):
        @extend_schema(tags=TAG, request=None, responses=s.CampaignDetailSerializer,
                       description=description)  # fmt: skip
        def post(self, request: Request, pk: int) -> Response:
            return Response(campaign_detail(service(campaign_id=pk)))

    return Action


CampaignStart = _action(
    campaign_start,
    "Start now (or at `scheduled_at`). Refused (409 `campaign_refused`, nothing sent) when the "
    "plan's quota or the number's messaging limit cannot take every recipient. Idempotent.",
)
CampaignPause = _action(campaign_pause, "Pause at once. Idempotent.")
CampaignResume = _action(campaign_resume, "Continue with the recipients not sent yet.")
CampaignCancel = _action(campaign_cancel, "Stop for good; the rest is skipped. Idempotent.")


class CampaignRetry(APIView):
    @extend_schema(tags=TAG, request=s.RetrySerializer, responses=s.RetryResultSerializer)
    def post(self, request: Request, pk: int) -> Response:
        """Send again to failed recipients (only those with one of `codes` or `reasons`, if
        given)."""
        serializer = s.RetrySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        reset = campaign_retry(campaign_id=pk, codes=data.get("codes"), reasons=data.get("reasons"))
        return Response({"reset": reset})


@extend_schema(
    tags=TAG,
    parameters=[
        OpenApiParameter("state", OpenApiTypes.STR, enum=list(STATES)),
        OpenApiParameter("code", OpenApiTypes.INT, description="Meta's error code"),
    ],
)
class CampaignRecipients(generics.ListAPIView):
    """The campaign's recipients in order, each with its state and its message's outcome."""

    serializer_class = s.RecipientSerializer
    pagination_class = KeysetPagination
    ordering_options = {"id": ("id",), "-id": ("-id",)}
    default_ordering = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return CampaignRecipient.objects.none()
        campaign = campaign_get(campaign_id=self.kwargs["pk"])
        rows = recipients_with_state(campaign_id=campaign.pk)
        state = self.request.query_params.get("state")
        if state:
            if state not in STATES:
                raise InvalidQueryParameter(f"state: one of {', '.join(STATES)}.")
            rows = rows.filter(current_state=state)
        code = self.request.query_params.get("code")
        if code:
            if not code.isdigit():
                raise InvalidQueryParameter("code: Meta's numeric error code.")
            rows = rows.filter(message__error_code=int(code))
        return rows


class CampaignResults(APIView):
    @extend_schema(tags=TAG, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request, pk: int) -> StreamingHttpResponse:
        """Every recipient's outcome as CSV (streamed)."""
        campaign = campaign_get(campaign_id=pk)
        response = StreamingHttpResponse(
            campaign_results_csv(campaign_id=campaign.pk), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}.csv"'
        return response
