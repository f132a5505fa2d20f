"""Request and response shapes of the commerce directory API (responses are camelCased by the renderer)."""
from decimal import ROUND_HALF_UP, Decimal

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commerces.models import (
    Address,
    Commerce,
    CommerceUser,
    CommerceUserRole,
    Contact,
    ContactType,
    Operator,
    OperatorType,
    Route,
    RouteOperator,
    RouteOperatorRole,
    Source,
)
from commerces.selectors import role_names
from commerces.services import SYNC_MAX_ITEMS
from reten.api.serializers import StrictSerializer

METADATA_HELP = ("Free-form JSON object. On update it is merged key by key: keys sent replace stored ones, a key "
                 "sent as null is removed, other stored keys are kept.")


class MetadataField(serializers.DictField):
    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", METADATA_HELP)
        super().__init__(**kwargs)


class CoordinateField(serializers.DecimalField):
    """Degrees as a JSON number; more than 6 decimals are rounded (about 0.1 m), not refused."""

    def __init__(self, limit, **kwargs):
        super().__init__(max_digits=9, decimal_places=6, coerce_to_string=False, min_value=Decimal(-limit),
                         max_value=Decimal(limit), **kwargs)

    def validate_precision(self, value):
        if abs(value) <= self.max_value + 1:  # rounding a huge number (1e22) to 6 decimals would overflow
            value = value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        if value > self.max_value:
            self.fail("max_value", max_value=self.max_value)
        if value < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        return super().validate_precision(value)


class BatchListSerializer(serializers.ListSerializer):
    """Refuses an oversized batch before validating any item, under the list's own name (`items`)."""

    def to_internal_value(self, data):
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            raise serializers.ValidationError(
                [self.error_messages["max_length"].format(max_length=self.max_length)], code="max_length"
            )
        return super().to_internal_value(data)


# --- responses ------------------------------------------------------------------------------------------------


class ContactSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(source="contact_type", choices=ContactType.choices, read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "type", "value", "is_primary", "source", "is_active", "created_at", "updated_at"]


class CommerceUserRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=CommerceUserRole.choices)


class AddressSerializer(serializers.ModelSerializer):
    latitude = CoordinateField(90, allow_null=True)
    longitude = CoordinateField(180, allow_null=True)

    class Meta:
        model = Address
        fields = ["id", "address_alias", "street", "street_number", "unit", "city", "commune", "region",
                  "country_code", "formatted_address", "latitude", "longitude", "is_primary", "source",
                  "source_ref", "is_active", "created_at", "updated_at"]


class CommerceUserSerializer(serializers.ModelSerializer):
    commerce_id = serializers.UUIDField(read_only=True)
    roles = serializers.SerializerMethodField()
    contacts = ContactSerializer(many=True, read_only=True)

    class Meta:
        model = CommerceUser
        fields = ["id", "commerce_id", "external_id", "first_name", "last_name", "source", "is_active", "roles",
                  "contacts", "created_at", "updated_at"]

    @extend_schema_field(CommerceUserRoleSerializer(many=True))
    def get_roles(self, user):
        return [{"role": name} for name in role_names(user)]


class CommerceSerializer(serializers.ModelSerializer):
    metadata = serializers.DictField(read_only=True)

    class Meta:
        model = Commerce
        fields = ["id", "external_id", "name", "tax_id", "global_external_id", "is_active", "is_placeholder",
                  "metadata", "created_at", "updated_at"]


class CommerceDetailSerializer(CommerceSerializer):
    addresses = AddressSerializer(many=True, read_only=True)
    users = CommerceUserSerializer(many=True, read_only=True)

    class Meta(CommerceSerializer.Meta):
        fields = [*CommerceSerializer.Meta.fields, "addresses", "users"]


class SyncResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Items that did not exist yet.")
    updated = serializers.IntegerField(help_text="Items that matched a stored record (changed or not).")
    total = serializers.IntegerField(help_text="created + updated: every item of the request.")


class OperatorSerializer(serializers.ModelSerializer):
    metadata = serializers.DictField(read_only=True)

    class Meta:
        model = Operator
        fields = ["id", "type", "name", "email", "phone", "external_id", "is_active", "is_placeholder", "metadata",
                  "created_at", "updated_at"]


class RouteOperatorSerializer(serializers.ModelSerializer):
    operator_id = serializers.UUIDField(read_only=True)
    operator_name = serializers.CharField(source="operator.name", read_only=True)
    operator_type = serializers.ChoiceField(source="operator.type", choices=OperatorType.choices, read_only=True)

    class Meta:
        model = RouteOperator
        fields = ["operator_id", "operator_name", "operator_type", "role", "is_active", "created_at", "updated_at"]


class RouteSerializer(serializers.ModelSerializer):
    operators = RouteOperatorSerializer(source="route_operators", many=True, read_only=True)

    class Meta:
        model = Route
        fields = ["id", "code", "name", "is_active", "operators", "created_at", "updated_at"]


# --- query parameters -----------------------------------------------------------------------------------------


class CommerceFiltersSerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, help_text="Name or external id contains.")
    external_id = serializers.CharField(required=False, allow_blank=True, help_text="Exact match.")
    global_external_id = serializers.CharField(required=False, allow_blank=True, help_text="Exact match.")
    is_active = serializers.BooleanField(required=False)
    is_placeholder = serializers.BooleanField(required=False)


class OperatorFiltersSerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, help_text="Name or e-mail contains.")
    type = serializers.ChoiceField(choices=OperatorType.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class RouteFiltersSerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, help_text="Code or name contains.")
    is_active = serializers.BooleanField(required=False)


# --- requests -------------------------------------------------------------------------------------------------

NAME_PART_MAX = 150


def person_name_field():
    return serializers.CharField(
        max_length=2 * NAME_PART_MAX + 1, required=False, allow_blank=True,
        help_text="The full name, instead of first_name and last_name: the first word is the first name, the rest "
                  "the last name.")


def split_person_name(attrs):
    """`name` becomes first_name (first word) and last_name (the rest); sent beside them it is ambiguous."""
    if "name" not in attrs:
        return attrs
    name = attrs.pop("name")
    if "first_name" in attrs or "last_name" in attrs:
        raise serializers.ValidationError({"name": ["Send name or first_name/last_name, not both."]})
    first, _, last = name.strip().partition(" ")
    first, last = first.strip(), last.strip()
    too_long = [part for part in (first, last) if len(part) > NAME_PART_MAX]
    if too_long:
        raise serializers.ValidationError(
            {"name": [f"The first name and the last name may have at most {NAME_PART_MAX} characters each."]})
    return {**attrs, "first_name": first, "last_name": last}



class CommerceCreateSerializer(StrictSerializer):
    external_id = serializers.CharField(max_length=255)
    name = serializers.CharField(max_length=255)
    tax_id = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    global_external_id = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    is_placeholder = serializers.BooleanField(required=False)
    metadata = MetadataField(required=False)


class CommerceUpdateSerializer(CommerceCreateSerializer):
    external_id = serializers.CharField(max_length=255, required=False)
    name = serializers.CharField(max_length=255, required=False)


class ContactCreateSerializer(StrictSerializer):
    contact_type = serializers.ChoiceField(choices=ContactType.choices)
    value = serializers.CharField(
        max_length=320, help_text="EMAIL: an e-mail address; PHONE and WHATSAPP: E.164 (+ and 8 to 15 digits).",
    )
    is_primary = serializers.BooleanField(
        required=False, help_text="A new primary demotes the user's previous primary contact of the same type.",
    )
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class CommerceUserCreateSerializer(StrictSerializer):
    external_id = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    name = person_name_field()
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=CommerceUserRole.choices), required=False)
    contacts = ContactCreateSerializer(many=True, required=False)

    def validate(self, attrs):
        return split_person_name(attrs)


class CommerceUserUpdateSerializer(StrictSerializer):
    external_id = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class RoleAddSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=CommerceUserRole.choices)


class AddressInputSerializer(StrictSerializer):
    address_alias = serializers.CharField(max_length=100, required=False, allow_blank=True)
    street = serializers.CharField(max_length=255, required=False, allow_blank=True)
    street_number = serializers.CharField(max_length=32, required=False, allow_blank=True)
    unit = serializers.CharField(max_length=64, required=False, allow_blank=True)
    city = serializers.CharField(max_length=128, required=False, allow_blank=True)
    commune = serializers.CharField(max_length=128, required=False, allow_blank=True)
    region = serializers.CharField(max_length=128, required=False, allow_blank=True)
    country_code = serializers.CharField(
        max_length=2, required=False, allow_blank=True, help_text="ISO 3166-1 alpha-2, e.g. CL.",
        validators=[RegexValidator(r"^[A-Za-z]{2}$", "Enter a two-letter ISO 3166-1 country code.")],
    )
    formatted_address = serializers.CharField(max_length=512, required=False, allow_blank=True)
    latitude = CoordinateField(90, required=False, allow_null=True)
    longitude = CoordinateField(180, required=False, allow_null=True)
    is_primary = serializers.BooleanField(
        required=False, help_text="A new primary demotes the commerce's previous primary address.",
    )
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    source_ref = serializers.CharField(max_length=255, required=False, allow_blank=True,
                                       help_text="The source system's reference; unique per commerce.")
    is_active = serializers.BooleanField(required=False)


class SyncContactSerializer(StrictSerializer):
    contact_type = serializers.ChoiceField(choices=ContactType.choices)
    value = serializers.CharField(max_length=320)
    is_primary = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class SyncAddressSerializer(AddressInputSerializer):
    source = None  # synced rows are INTEGRATION rows


class SyncCommerceUserSerializer(StrictSerializer):
    external_id = serializers.CharField(max_length=255, help_text="Identifies the user within its commerce.")
    name = person_name_field()
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=CommerceUserRole.choices), required=False,
                                  help_text="When sent, replaces the user's roles.")
    contacts = SyncContactSerializer(many=True, required=False, help_text="Upserted on contact_type + value.")

    def validate(self, attrs):
        return split_person_name(attrs)


class CommerceSyncItemSerializer(StrictSerializer):
    external_id = serializers.CharField(max_length=255, help_text="The upsert key, unique per tenant.")
    name = serializers.CharField(max_length=255)
    tax_id = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    global_external_id = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    is_placeholder = serializers.BooleanField(required=False)
    metadata = MetadataField(required=False)
    addresses = SyncAddressSerializer(many=True, required=False,
                                      help_text="Upserted on source_ref, or on the location fields without one.")
    users = SyncCommerceUserSerializer(many=True, required=False, help_text="Upserted on external_id.")

    class Meta:
        list_serializer_class = BatchListSerializer


class CommerceSyncSerializer(StrictSerializer):
    items = CommerceSyncItemSerializer(many=True, max_length=SYNC_MAX_ITEMS)


class OperatorCreateSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=OperatorType.choices)
    name = serializers.CharField(max_length=255)
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True,
                                   help_text="Unique per tenant (case-insensitive).")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, help_text="E.164.")
    external_id = serializers.CharField(
        max_length=255, required=False, allow_null=True, allow_blank=True,
        help_text="Optional; when given, unique with type per tenant (operators without one never collide).")
    is_active = serializers.BooleanField(required=False)
    is_placeholder = serializers.BooleanField(required=False)
    metadata = MetadataField(required=False)


class OperatorSyncItemSerializer(OperatorCreateSerializer):
    external_id = serializers.CharField(max_length=255, help_text="The upsert key with type: required in a sync.")

    class Meta:
        list_serializer_class = BatchListSerializer


class OperatorUpdateSerializer(OperatorCreateSerializer):
    type = serializers.ChoiceField(choices=OperatorType.choices, required=False)
    name = serializers.CharField(max_length=255, required=False)


class OperatorSyncSerializer(StrictSerializer):
    items = OperatorSyncItemSerializer(many=True, max_length=SYNC_MAX_ITEMS)


class RouteCreateSerializer(StrictSerializer):
    code = serializers.CharField(max_length=64, help_text="Unique per tenant.")
    name = serializers.CharField(max_length=255)
    is_active = serializers.BooleanField(required=False)


class RouteUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=255, required=False)
    is_active = serializers.BooleanField(required=False)


class RouteOperatorLinkSerializer(serializers.ModelSerializer):
    """The link POST /api/routes/:id/operators made or re-made."""

    route_id = serializers.UUIDField(read_only=True)
    operator_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = RouteOperator
        fields = ["route_id", "operator_id", "role", "is_active"]


class RouteOperatorAssignSerializer(StrictSerializer):
    operator_id = serializers.UUIDField()
    role = serializers.ChoiceField(choices=RouteOperatorRole.choices, required=False,
                                   help_text="MEMBER for a new link when omitted; kept on an existing link.")
