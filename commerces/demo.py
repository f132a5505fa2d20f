"""Demo directory for `manage.py seed_demo`: 40 commerces, 3 operators and route R-001 (idempotent).

The commerces are made to exercise target resolution for real:
  C-0001..C-0024  complete: an OWNER and a COMMERCE_REP, each with PHONE, WHATSAPP and EMAIL
  C-0025..C-0028  an OWNER with a PHONE only (no EMAIL, no WHATSAPP contact)
  C-0029..C-0031  an OWNER with an EMAIL only (nothing for WHATSAPP, SMS or CALLCENTER)
  C-0032..C-0034  a person with contacts but no role (neither fallback finds anyone)
  C-0035..C-0037  an OWNER and a COMMERCE_REP without any contact (C-0036 is inactive)
  C-0038..C-0040  no people at all (C-0040 is a placeholder)
Everything goes through the same sync services as the API, so a second run changes nothing.
"""
from decimal import Decimal

from commerces import services
from commerces.models import Operator, Route

ROUTE_CODE = "R-001"
STORE_KINDS = ["Minimarket", "Almacen", "Botilleria", "Panaderia", "Farmacia", "Ferreteria", "Kiosko", "Bazar"]
STORE_NAMES = ["Don Pedro", "La Esquina", "El Sol", "Santa Rosa", "Los Andes", "San Jorge", "La Estrella",
               "Las Palmas", "El Roble", "Doña Juanita"]
CITIES = [
    # (city, commune, region, latitude, longitude)
    ("Santiago", "Providencia", "Metropolitana", "-33.426100", "-70.611400"),
    ("Santiago", "Ñuñoa", "Metropolitana", "-33.456900", "-70.597800"),
    ("Valparaíso", "Valparaíso", "Valparaíso", "-33.047200", "-71.612700"),
    ("Concepción", "Concepción", "Biobío", "-36.827000", "-73.050300"),
]
OPERATORS = [
    {"type": "SALESMAN", "external_id": "S-001", "name": "Sergio Salesman", "email": "sergio.salesman@reten.demo",
     "phone": "+56990000001"},
    {"type": "CALLCENTER", "external_id": "CC-001", "name": "Carla Callcenter",
     "email": "carla.callcenter@reten.demo", "phone": "+56990000002"},
    {"type": "ACTIVATOR", "external_id": "A-001", "name": "Andres Activator", "email": "andres.activator@reten.demo",
     "phone": "+56990000003"},
]
ROUTE_ROLES = {"SALESMAN": "LEAD", "CALLCENTER": "MEMBER", "ACTIVATOR": "MEMBER"}


def _contacts(number, position, types):
    values = {
        "PHONE": f"+5691{position}{number:06d}",
        "WHATSAPP": f"+5692{position}{number:06d}",
        "EMAIL": f"person{position}.c{number:04d}@stores.reten.demo",
    }
    return [{"contact_type": kind, "value": values[kind], "is_primary": True} for kind in types]


def _person(number, position, roles, contact_types):
    first, last = [("Rosa", "Owner"), ("Mario", "Rep"), ("Lucia", "Staff")][position - 1]
    return {"external_id": f"C-{number:04d}-U{position}", "first_name": first, "last_name": f"{last} {number}",
            "roles": roles, "contacts": _contacts(number, position, contact_types)}


def _users(number):
    everything = ["PHONE", "WHATSAPP", "EMAIL"]
    if number <= 24:
        return [_person(number, 1, ["OWNER"], everything), _person(number, 2, ["COMMERCE_REP"], everything)]
    if number <= 28:
        return [_person(number, 1, ["OWNER"], ["PHONE"])]
    if number <= 31:
        return [_person(number, 1, ["OWNER"], ["EMAIL"])]
    if number <= 34:
        return [_person(number, 3, [], everything)]
    if number <= 37:
        return [_person(number, 1, ["OWNER"], []), _person(number, 2, ["COMMERCE_REP"], [])]
    return []


def commerce_items():
    items = []
    for number in range(1, 41):
        city, commune, region, latitude, longitude = CITIES[number % len(CITIES)]
        metadata = {"segment": "GOLD" if number % 5 == 0 else "STANDARD", "demo": True}
        if number % 3 == 0:
            metadata["promotions"] = [{"code": f"PROMO{number:02d}", "description": "10% off the next order"}]
        item = {
            "external_id": f"C-{number:04d}",
            "name": f"{STORE_KINDS[number % len(STORE_KINDS)]} {STORE_NAMES[number % len(STORE_NAMES)]} {number}",
            "tax_id": f"76{number:06d}-{number % 10}",
            "is_active": number != 36,
            "is_placeholder": number == 40,
            "metadata": metadata,
            "users": _users(number),
        }
        if number <= 36:
            item["addresses"] = [{
                "address_alias": "Store", "street": "Avenida Principal", "street_number": str(100 + number),
                "city": city, "commune": commune, "region": region, "country_code": "CL",
                "formatted_address": f"Avenida Principal {100 + number}, {commune}, {city}",
                "latitude": Decimal(latitude), "longitude": Decimal(longitude), "is_primary": True,
                "source_ref": f"ADDR-C-{number:04d}",
            }]
        items.append(item)
    return items


def seed(*, tenant, stdout):
    commerces = services.commerce_sync(tenant=tenant, items=commerce_items())
    operators = services.operator_sync(tenant=tenant, items=[dict(operator) for operator in OPERATORS])
    route = Route.objects.for_tenant(tenant).filter(code=ROUTE_CODE).first()
    route_created = route is None
    if route is None:
        route = services.route_create(tenant=tenant, data={"code": ROUTE_CODE, "name": "Demo route Santiago"})
    linked = 0
    for operator in _demo_operators(tenant):
        _, created = services.route_operator_assign(route=route, operator=operator,
                                                    role=ROUTE_ROLES[operator.type])
        linked += created
    stdout.write(
        f"Commerces: {commerces.total} commerces ({commerces.created} new), {operators.total} operators "
        f"({operators.created} new), route {ROUTE_CODE} ({'new' if route_created else 'kept'}, "
        f"{linked} operator links new)\n"
    )


def _demo_operators(tenant):
    identities = [(operator["type"], operator["external_id"]) for operator in OPERATORS]
    operators = Operator.objects.for_tenant(tenant).filter(external_id__in=[ext for _, ext in identities])
    return [operator for operator in operators.order_by("type") if (operator.type, operator.external_id) in identities]
