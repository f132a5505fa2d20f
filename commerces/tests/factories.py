import factory

from commerces.models import (
    Address,
    Commerce,
    CommerceUser,
    CommerceUserRoleAssignment,
    Contact,
    ContactType,
    Operator,
    OperatorType,
    Route,
    RouteOperator,
)
from tenants.tests.factories import TenantFactory


class CommerceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Commerce

    tenant = factory.SubFactory(TenantFactory)
    external_id = factory.Sequence(lambda n: f"C-{n:05d}")
    name = factory.Sequence(lambda n: f"Commerce {n:05d}")


class CommerceUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommerceUser
        skip_postgeneration_save = True

    commerce = factory.SubFactory(CommerceFactory)
    external_id = factory.Sequence(lambda n: f"U-{n:05d}")
    first_name = "Rosa"
    last_name = factory.Sequence(lambda n: f"Person {n:05d}")

    @factory.post_generation
    def roles(obj, create, extracted, **kwargs):
        if create and extracted:
            for role in extracted:
                CommerceUserRoleAssignment.objects.create(commerce_user=obj, role=role)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    commerce_user = factory.SubFactory(CommerceUserFactory)
    contact_type = ContactType.PHONE
    value = factory.Sequence(lambda n: f"+5691{n:07d}")


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    commerce = factory.SubFactory(CommerceFactory)
    street = "Av. Providencia"
    street_number = factory.Sequence(lambda n: str(100 + n))
    city = "Santiago"
    country_code = "CL"


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator

    tenant = factory.SubFactory(TenantFactory)
    type = OperatorType.SALESMAN
    name = factory.Sequence(lambda n: f"Operator {n:05d}")
    email = factory.Sequence(lambda n: f"operator{n}@example.com")
    external_id = factory.Sequence(lambda n: f"OP-{n:05d}")


class RouteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Route

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"R-{n:03d}")
    name = factory.Sequence(lambda n: f"Route {n}")


class RouteOperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RouteOperator

    route = factory.SubFactory(RouteFactory)
    operator = factory.SubFactory(OperatorFactory)
