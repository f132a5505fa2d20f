"""GET /api/audit-log (SPEC 11.5): the tenant's configuration changes, newest first. Read-only."""
from auditlog.models import LogEntry
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from reten.audit import OBJECT_TYPES, object_type_of
from tenants import selectors
from tenants.roles import P

ACTIONS = {LogEntry.Action.CREATE: "create", LogEntry.Action.UPDATE: "update", LogEntry.Action.DELETE: "delete",
           LogEntry.Action.ACCESS: "access"}


class AuditLogFilterSerializer(serializers.Serializer):
    object_type = serializers.CharField(required=False, max_length=64,
                                        help_text="api_key, dispatch_config, membership, role, ...")
    object_id = serializers.CharField(required=False, max_length=255)
    actor_id = serializers.UUIDField(required=False)
    # `from` is a Python keyword: the field is declared under its wire name below.
    to = serializers.DateTimeField(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(required=False)
        return fields

    def validate_object_type(self, value):
        if value not in OBJECT_TYPES:
            raise serializers.ValidationError(f"Must be one of: {', '.join(sorted(OBJECT_TYPES))}.")
        return value

    def validate(self, attrs):
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"from": ["Must not be after to."]})
        return attrs


class AuditActorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()


class AuditLogEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    action = serializers.SerializerMethodField()
    object_type = serializers.SerializerMethodField()
    object_id = serializers.CharField(source="object_pk")
    object_repr = serializers.CharField()
    changes = serializers.JSONField(help_text="{field: [old, new]}; many-to-many: {field: {type, operation, "
                                              "objects}}. Secrets are never recorded.")
    actor = serializers.SerializerMethodField()
    api_key_id = serializers.SerializerMethodField(help_text="The API key that acted (its creator is the actor).")
    remote_addr = serializers.IPAddressField(allow_null=True)

    def get_action(self, entry) -> str:
        return ACTIONS[entry.action]

    def get_object_type(self, entry) -> str | None:
        return object_type_of(entry.content_type.model_class())

    @extend_schema(responses=AuditActorSerializer(allow_null=True))
    def get_actor(self, entry) -> dict | None:
        if entry.actor is None:
            return None
        return {"id": entry.actor.id, "email": entry.actor.email}

    def get_api_key_id(self, entry) -> str | None:
        return (entry.additional_data or {}).get("api_key_id")


class AuditLogView(generics.ListAPIView):
    required_permission = P.VIEW_TENANTS
    serializer_class = AuditLogEntrySerializer
    queryset = LogEntry.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        filters = AuditLogFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.audit_log_list(tenant=self.request.tenant, filters=filters.validated_data)

    @extend_schema(tags=["audit"], parameters=[AuditLogFilterSerializer],
                   summary="Who changed which configuration of this tenant, and how (paginated, newest first)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
