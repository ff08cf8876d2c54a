"""REST API for CRM integrations: EQL records, the incremental feed, lifecycle events."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from expansion.models import CLOSED_STATUSES, EQL, OPEN_STATUSES, EQLStatus, Route
from expansion.records import eql_record
from routing import lifecycle
from routing.lifecycle import TransitionError
from routing.selectors import eqls_visible
from routing.services import eql_transition


class TriggeredSignalSerializer(serializers.Serializer):
    signal = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    points = serializers.IntegerField()


class EQLRecordSerializer(serializers.Serializer):
    """The contract's EQL record (same shape as ``list_eqls --json`` and webhooks)."""

    id = serializers.IntegerField()
    account_id = serializers.CharField()
    account_name = serializers.CharField()
    status = serializers.ChoiceField(choices=EQLStatus.choices)
    score = serializers.IntegerField()
    primary_signal = serializers.CharField()
    triggered_signals = TriggeredSignalSerializer(many=True)
    route = serializers.ChoiceField(choices=Route.choices)
    owner_email = serializers.EmailField(allow_null=True)
    csm_email = serializers.EmailField(allow_null=True)
    csm_involvement_required = serializers.BooleanField()
    contract_arr = serializers.FloatField()
    estimated_expansion_arr = serializers.FloatField()
    estimate_source = serializers.CharField()
    opening_angle = serializers.CharField()
    last_csm_activity_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    sla_deadline = serializers.DateTimeField(allow_null=True)
    review_window_ends_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: EQL) -> dict:
        return eql_record(instance)


class SplitSerializer(serializers.Serializer):
    email = serializers.EmailField()
    percent = serializers.IntegerField(min_value=0, max_value=100)


class EventSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[(e, e) for e in lifecycle.EVENTS])
    at = serializers.DateTimeField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    expansion_arr = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    splits = SplitSerializer(many=True, required=False)
    until = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="snooze: when it ends (at most 30 days from now).",
    )


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class EQLFilter(django_filters.FilterSet):
    status = django_filters.CharFilter(method="filter_status", help_text="open, closed, all, or one status")
    owner = django_filters.CharFilter(
        field_name="owner__email", lookup_expr="iexact", help_text="owner email"
    )
    route = django_filters.ChoiceFilter(choices=Route.choices)
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gt", help_text="Only records changed after this ISO datetime."
    )

    class Meta:
        model = EQL
        fields = ["status", "owner", "route", "updated_since"]

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.filter(status__in=OPEN_STATUSES)
        if value == "closed":
            return queryset.filter(status__in=CLOSED_STATUSES)
        if value in ("", "all"):
            return queryset
        if value not in EQLStatus.values:
            raise serializers.ValidationError({"status": f"unknown status {value!r}"})
        return queryset.filter(status=value)


class EQLViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """EQL records. Poll ``?updated_since=<last sync>`` for the incremental feed (ordered by updated_at)."""

    serializer_class = EQLRecordSerializer
    filterset_class = EQLFilter
    queryset = EQL.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return EQL.objects.none()
        return eqls_visible(user=self.request.user).order_by("updated_at", "pk")

    @extend_schema(
        request=EventSerializer,
        responses={
            200: EQLRecordSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid transition; nothing changed."),
            403: OpenApiResponse(ErrorSerializer, description="You may not act on this EQL."),
        },
    )
    @action(detail=True, methods=["post"], url_path="events")
    def events(self, request: Request, pk=None) -> Response:
        """Record a lifecycle event: contacted, call_booked, proposal_sent, won, lost, declined, csm_hold,
        csm_release, note, accept (the owner takes it on; once) or snooze (with ``until``: out of the
        owner's queue until then, notified again at the end); on a CSM review item (route csm_review)
        review_promote (to an EQL for the AE), review_risk (declined, reason churn_risk: handed to
        retention) or review_dismiss (declined with a declined reason code). Invalid transitions answer
        400 and change nothing."""
        eql = self.get_object()  # 404 when not visible to this user
        data = EventSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            eql_transition(
                eql_id=eql.pk,
                user=request.user,
                event=v["type"],
                at=v.get("at"),
                note=v.get("note", ""),
                reason=v.get("reason", ""),
                expansion_arr=v.get("expansion_arr"),
                splits=v.get("splits"),
                until=v.get("until"),
            )
        except PermissionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except TransitionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(eql_record(self.get_queryset().get(pk=eql.pk)))
