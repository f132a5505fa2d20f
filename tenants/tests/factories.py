import factory

from tenants.models import Membership, Role, Tenant, User


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "password123")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def member(tenant, *role_names, user=None, **user_fields):
    """A user (new unless given) who holds `role_names` in `tenant`."""
    user = user or UserFactory(**user_fields)
    membership, _ = Membership.objects.get_or_create(user=user, tenant=tenant)
    membership.roles.add(*Role.objects.filter(name__in=role_names))
    return user
