"""GET /api/reports/activities and /api/reports/effectiveness (SPEC 14). Thin: validate the window, one selector."""
from datetime import timedelta

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from activities import reports
from activities.api.serializers import CommaSeparatedChoices, FlexibleDateTimeField
from tenants.roles import P

FROM_TO = [
    OpenApiParameter("from", str, required=True,
                     description="Start of the window on created_at (ISO 8601 datetime, or a date: its start)"),
    OpenApiParameter("to", str, required=True,
                     description=f"End of the window (a date: its end); at most {reports.MAX_WINDOW_DAYS} days "
                                 "after from"),
]


class ReportWindowSerializer(serializers.Serializer):
    to = FlexibleDateTimeField(end_of_day=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = FlexibleDateTimeField()  # a Python keyword: declared under its wire name
        return fields

    def validate(self, attrs):
        if attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"from": ["Must not be after to."]})
        if attrs["to"] - attrs["from"] > timedelta(days=reports.MAX_WINDOW_DAYS):
            raise serializers.ValidationError({"to": [f"At most {reports.MAX_WINDOW_DAYS} days after from."]})
        return attrs


class ActivitiesReportQuerySerializer(ReportWindowSerializer):
    group_by = CommaSeparatedChoices([(key, key) for key in reports.GROUPS])

    def validate_group_by(self, value):
        if not 1 <= len(value) <= 2 or len(set(value)) != len(value):
            raise serializers.ValidationError("One or two different keys.")
        return value


class ActivitiesReportSerializer(serializers.Serializer):
    rows = serializers.ListField(child=serializers.DictField(), help_text=(
        "One per group: the group_by keys (operator and route add operatorName / routeName) and count."))
    total = serializers.IntegerField()


class PercentilesSerializer(serializers.Serializer):
    median = serializers.FloatField(allow_null=True)
    p90 = serializers.FloatField(allow_null=True)


class EffectivenessRowSerializer(serializers.Serializer):
    channel = serializers.CharField()
    result_type = serializers.CharField(allow_null=True, help_text="Code of the last result; null: no result yet")
    count = serializers.IntegerField()
    dispatched = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    effective = serializers.IntegerField()
    not_effective = serializers.IntegerField()
    effectiveness_rate = serializers.FloatField(allow_null=True,
                                                help_text="effective / (effective + notEffective); null if none")
    ready_to_dispatched_seconds = PercentilesSerializer()
    dispatched_to_closed_seconds = PercentilesSerializer()


class EffectivenessReportSerializer(serializers.Serializer):
    rows = EffectivenessRowSerializer(many=True)
    total = serializers.IntegerField()


class ActivitiesReportView(APIView):
    required_permission = P.VIEW_ACTIVITIES

    @extend_schema(tags=["reports"], responses={200: ActivitiesReportSerializer},
                   parameters=[*FROM_TO, OpenApiParameter(
                       "group_by", str, required=True,
                       description=f"One or two of {', '.join(reports.GROUPS)}, comma-separated")],
                   summary="Activities created in a window, counted by one or two keys")
    def get(self, request):
        query = ActivitiesReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = reports.activities_report(tenant=request.tenant, date_from=query.validated_data["from"],
                                           date_to=query.validated_data["to"],
                                           group_by=query.validated_data["group_by"])
        return Response(report)


class EffectivenessReportView(APIView):
    required_permission = P.VIEW_ACTIVITIES

    @extend_schema(tags=["reports"], responses={200: EffectivenessReportSerializer}, parameters=FROM_TO,
                   summary="Per channel and result type: outcomes, effectiveness rate, and latency percentiles")
    def get(self, request):
        query = ReportWindowSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = reports.effectiveness_report(tenant=request.tenant, date_from=query.validated_data["from"],
                                              date_to=query.validated_data["to"])
        return Response(EffectivenessReportSerializer(report).data)
