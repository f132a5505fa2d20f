from rest_framework import serializers

from reten.api.serializers import StrictSerializer
from tenants.models import ApiKey, Tenant
from tenants.roles import TENANT_ROLES, Permission, RoleName, level_of

PASSWORD_MIN = 8


def membership_roles(user):
    """Role names of a user in the tenant whose memberships were prefetched as `tenant_memberships`."""
    names = [RoleName.SUPER_ADMIN.value] if user.is_superuser else []
    for membership in getattr(user, "tenant_memberships", []):
        names += [n for n in membership.role_names() if n not in names]
    return sorted(names, key=lambda n: level_of([n]))


class LoginSerializer(StrictSerializer):
    identifier = serializers.CharField(max_length=254)
    password = serializers.CharField(min_length=PASSWORD_MIN, max_length=128, trim_whitespace=False)


class AuthUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()


class LoginResponseSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    user = AuthUserSerializer()


class AccessTokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()


class MeSerializer(AuthUserSerializer):
    tenant_ids = serializers.ListField(child=serializers.UUIDField())
    roles = serializers.ListField(child=serializers.CharField())


class ResetMyPasswordSerializer(StrictSerializer):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(min_length=PASSWORD_MIN, max_length=128, trim_whitespace=False)


class ResetUserPasswordSerializer(StrictSerializer):
    user_id = serializers.UUIDField()
    new_password = serializers.CharField(min_length=PASSWORD_MIN, max_length=128, trim_whitespace=False)


class RoleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())
    level = serializers.IntegerField()


class AssignableRolesSerializer(serializers.Serializer):
    assignable_roles = RoleSerializer(many=True)
    current_user_level = serializers.IntegerField()


class TenantBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "slug"]


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "created_at"]


class TenantDetailSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "is_active", "created_at"]


class TenantUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=255, required=False)
    is_active = serializers.BooleanField(required=False)


class TenantSetupSerializer(StrictSerializer):
    name = serializers.CharField(max_length=255)
    slug = serializers.SlugField(max_length=100)
    admin_email = serializers.EmailField()
    admin_password = serializers.CharField(min_length=PASSWORD_MIN, max_length=128, trim_whitespace=False)
    admin_first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    admin_last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class RoleNamesField(serializers.ListField):
    child = serializers.ChoiceField(choices=[r.value for r in TENANT_ROLES])

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_empty", False)
        super().__init__(**kwargs)


class TenantUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    roles = serializers.SerializerMethodField()

    def get_roles(self, user) -> list[str]:
        return membership_roles(user)


class TenantUserCreateSerializer(StrictSerializer):
    email = serializers.EmailField()
    password = serializers.CharField(min_length=PASSWORD_MIN, max_length=128, required=False,
                                     trim_whitespace=False,
                                     help_text="Required when the user does not exist yet; ignored (with the "
                                               "names and username) when the e-mail already has an account.")
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    username = serializers.CharField(max_length=150, required=False, allow_null=True, default=None,
                                     help_text="Optional; may not contain @ nor equal any e-mail.")
    roles = RoleNamesField()


class InvitationCreatedSerializer(serializers.Serializer):
    """POST tenant-users for an e-mail that already has an account: an invitation, never the user's profile."""

    invitation_id = serializers.UUIDField()
    email = serializers.EmailField(help_text="The e-mail as sent (normalized), not read from the account.")
    status = serializers.CharField(help_text='Always "INVITED": the membership grants nothing until accepted.')
    roles = serializers.ListField(child=serializers.CharField(),
                                  help_text="Roles the membership will hold once the user accepts.")


class InvitationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    tenant = TenantBriefSerializer()
    roles = serializers.SerializerMethodField()
    status = serializers.CharField(help_text='"INVITED" while pending, "ACTIVE" once accepted.')
    created_at = serializers.DateTimeField()

    def get_roles(self, membership) -> list[str]:
        return membership.role_names()


class UserRolesUpdateSerializer(StrictSerializer):
    roles = RoleNamesField()


class UserRolesSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    roles = serializers.ListField(child=serializers.CharField())


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "key_prefix", "permissions", "expires_at", "last_used_at", "revoked_at",
                  "is_active", "created_at"]


class ApiKeyCreatorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()


class TenantApiKeySerializer(ApiKeySerializer):
    """A key as listed: who created it (with ?scope=tenant, so a departing employee's keys can be found)."""

    created_by = ApiKeyCreatorSerializer()

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "created_by"]


class ApiKeyListQuerySerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["mine", "tenant"], required=False, default="mine",
                                    help_text="mine: the caller's keys; tenant: every key of the tenant with its "
                                              "creator (needs MANAGE_API_KEYS and CREATE_USER)")


class ApiKeyCreatedSerializer(ApiKeySerializer):
    user_id = serializers.UUIDField(source="created_by_id", help_text="The user the key acts as (its creator).")
    tenant_id = serializers.UUIDField()
    plaintext_key = serializers.CharField(help_text="Shown only in this response.")
    key = serializers.CharField(source="plaintext_key", help_text="The same secret as plaintextKey (shown once).")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "user_id", "tenant_id", "plaintext_key", "key"]


class PermissionNameField(serializers.ChoiceField):
    """A permission name in any case: `manage_commerces` is MANAGE_COMMERCES."""

    def __init__(self, **kwargs):
        super().__init__(choices=[p.value for p in Permission], **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and data.upper() in self.choice_strings_to_values:
            data = data.upper()
        return super().to_internal_value(data)


class ApiKeyCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=255)
    permissions = serializers.ListField(
        child=PermissionNameField(), allow_empty=False, help_text="Permission names, in any case.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
