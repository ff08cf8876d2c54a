"""``GET /api/attribution/?from=&to=``: Finance's split-credit log over the API (contract.md).

Who sees what: Finance, RevOps, Managers and superusers read every entry; an AE or CSM reads only
their own entries (their quota credit and attainment), other roles get 403. The log is append-only:
there is no create, update or delete. The only write is ``POST /api/attribution/{id}/correct/``
(RevOps or a superuser), which appends a reversal and a replacement. Every other role, Finance
included, gets 403 on any POST/PUT/PATCH/DELETE; RevOps gets 405 on PUT/PATCH/DELETE.
"""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from expansion.models import AttributionEntry, Role, User
from routing.api import ErrorSerializer
from routing.attribution.rules import SplitRefused
from routing.attribution.services import credit_correct

#: Largest id a database integer key holds; larger path or filter ids are simply not found.
MAX_ID = 2**63 - 1
#: Roles that read the whole log.
LOG_READERS = (Role.FINANCE, Role.REVOPS, Role.MANAGER)
#: Roles that read only their own entries.
OWN_ENTRY_READERS = (Role.AE, Role.CSM)


def attribution_visible(user: User) -> QuerySet[AttributionEntry]:
    """Entries this person may read (see the module docstring)."""
    qs = AttributionEntry.objects.select_related("eql", "account", "person", "recorded_by")
    if user.is_superuser or user.role in LOG_READERS:
        return qs
    if user.role in OWN_ENTRY_READERS:
        return qs.filter(person=user)
    return qs.none()


class AttributionPermission(BasePermission):
    """Reads for the roles above; writes (corrections only) for RevOps and superusers."""

    message = "Finance and the deal team read the attribution log; only RevOps records corrections."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return bool(user.is_superuser or user.role in (*LOG_READERS, *OWN_ENTRY_READERS))
        return bool(user.is_superuser or user.role == Role.REVOPS)


class AttributionEntrySerializer(serializers.ModelSerializer):
    eql_id = serializers.IntegerField(read_only=True)
    account_id = serializers.CharField(source="account.account_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    person_email = serializers.EmailField(source="person.email", read_only=True)
    person_name = serializers.CharField(source="person.display_name", read_only=True)
    recorded_by_email = serializers.EmailField(source="recorded_by.email", read_only=True)
    corrects_id = serializers.IntegerField(read_only=True, allow_null=True)
    primary_signal = serializers.CharField(source="eql.primary_signal", read_only=True)

    class Meta:
        model = AttributionEntry
        fields = (
            "id",
            "eql_id",
            "account_id",
            "account_name",
            "person_email",
            "person_name",
            "role",
            "credit_type",
            "percent",
            "amount",
            "period",
            "closed_at",
            "rule",
            "reason",
            "primary_signal",
            "basis",
            "recorded_by_email",
            "recorded_at",
            "corrects_id",
            "entry_hash",
            "prev_hash",
            "chain_version",
        )
        read_only_fields = fields


class CorrectionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, help_text="Why the entry is corrected (required).")
    person_email = serializers.EmailField(required=False, help_text="Credit another person instead.")
    percent = serializers.IntegerField(required=False, min_value=0, max_value=100)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, min_value=0)


class CorrectionResultSerializer(serializers.Serializer):
    reversal = AttributionEntrySerializer()
    replacement = AttributionEntrySerializer()


class AttributionFilter(django_filters.FilterSet):
    to = django_filters.DateFilter(
        field_name="closed_at",
        lookup_expr="date__lte",
        help_text="Closed on or before (YYYY-MM-DD).",
    )
    period = django_filters.CharFilter(field_name="period", help_text="Close month, YYYY-MM.")
    person = django_filters.CharFilter(field_name="person__email", lookup_expr="iexact", help_text="email")
    account = django_filters.CharFilter(field_name="account__account_id", help_text="account id")
    eql = django_filters.NumberFilter(field_name="eql_id", min_value=1, max_value=MAX_ID, help_text="EQL id")
    credit_type = django_filters.ChoiceFilter(choices=AttributionEntry.CreditType.choices)

    class Meta:
        model = AttributionEntry
        fields = ["to", "period", "person", "account", "eql", "credit_type"]


# ``from`` is a Python keyword, so it is added after the class body.
AttributionFilter.base_filters["from"] = django_filters.DateFilter(
    field_name="closed_at", lookup_expr="date__gte", help_text="Closed on or after (YYYY-MM-DD)."
)


class AttributionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The split-credit log, oldest first (id order = hash-chain order). Filter by close date with
    ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (inclusive). Read-only; corrections append new entries."""

    serializer_class = AttributionEntrySerializer
    filterset_class = AttributionFilter
    permission_classes = [AttributionPermission]
    queryset = AttributionEntry.objects.none()
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AttributionEntry.objects.none()
        return attribution_visible(self.request.user).order_by("id")

    @extend_schema(
        request=CorrectionSerializer,
        responses={
            201: CorrectionResultSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Refused; nothing written."),
            403: OpenApiResponse(ErrorSerializer, description="Only RevOps records corrections."),
        },
    )
    @action(detail=True, methods=["post"], url_path="correct")
    def correct(self, request: Request, pk=None) -> Response:
        """Correct one entry: appends a reversal (negative percent and amount) and a replacement."""
        entry = self.get_object()
        data = CorrectionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            reversal, replacement = credit_correct(
                entry_id=entry.pk,
                recorded_by=request.user,
                reason=v["reason"],
                person_email=v.get("person_email"),
                percent=v.get("percent"),
                amount=v.get("amount"),
            )
        except PermissionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except SplitRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        fresh = attribution_visible(request.user).in_bulk([reversal.pk, replacement.pk])
        return Response(
            {
                "reversal": AttributionEntrySerializer(fresh[reversal.pk]).data,
                "replacement": AttributionEntrySerializer(fresh[replacement.pk]).data,
            },
            status=status.HTTP_201_CREATED,
        )
