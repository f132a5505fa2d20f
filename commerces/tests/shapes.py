"""The exact JSON the API returns for directory rows, written out key by key (camelCase)."""
from reten.api.renderers import format_datetime


def timestamps(row):
    return {"createdAt": format_datetime(row.created_at), "updatedAt": format_datetime(row.updated_at)}


def contact_json(contact):
    return {"id": str(contact.id), "type": contact.contact_type, "value": contact.value,
            "isPrimary": contact.is_primary, "source": contact.source, "isActive": contact.is_active,
            **timestamps(contact)}


def address_json(address):
    def number(value):
        return None if value is None else float(value)

    return {"id": str(address.id), "addressAlias": address.address_alias, "street": address.street,
            "streetNumber": address.street_number, "unit": address.unit, "city": address.city,
            "commune": address.commune, "region": address.region, "countryCode": address.country_code,
            "formattedAddress": address.formatted_address, "latitude": number(address.latitude),
            "longitude": number(address.longitude), "isPrimary": address.is_primary, "source": address.source,
            "sourceRef": address.source_ref, "isActive": address.is_active, **timestamps(address)}


def user_json(user, roles, contacts):
    return {"id": str(user.id), "commerceId": str(user.commerce_id), "externalId": user.external_id,
            "firstName": user.first_name, "lastName": user.last_name, "source": user.source,
            "isActive": user.is_active, "roles": [{"role": role} for role in roles],
            "contacts": [contact_json(c) for c in contacts],
            **timestamps(user)}


def commerce_json(commerce):
    return {"id": str(commerce.id), "externalId": commerce.external_id, "name": commerce.name,
            "taxId": commerce.tax_id, "globalExternalId": commerce.global_external_id,
            "isActive": commerce.is_active, "isPlaceholder": commerce.is_placeholder, "metadata": commerce.metadata,
            **timestamps(commerce)}


def operator_json(operator):
    return {"id": str(operator.id), "type": operator.type, "name": operator.name, "email": operator.email,
            "phone": operator.phone, "externalId": operator.external_id, "isActive": operator.is_active,
            "isPlaceholder": operator.is_placeholder, "metadata": operator.metadata, **timestamps(operator)}


def link_json(link):
    return {"operatorId": str(link.operator_id), "operatorName": link.operator.name,
            "operatorType": link.operator.type, "role": link.role, "isActive": link.is_active, **timestamps(link)}


def route_json(route, links):
    return {"id": str(route.id), "code": route.code, "name": route.name, "isActive": route.is_active,
            "operators": [link_json(link) for link in links], **timestamps(route)}
