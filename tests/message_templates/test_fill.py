"""Variables filled from a contact's fields (the inbox picker's service)."""

from __future__ import annotations

import pytest

from tests.conftest import in_tenant
from whatsapp.message_templates.models import MessageTemplate
from whatsapp.message_templates.services.fill import template_parameters_fill
from whatsapp.models import Contact


@pytest.mark.django_db
def test_named_and_positional_variables_are_filled_from_the_contact(org_a):
    with in_tenant(org_a):
        contact = Contact.objects.create(wa_id="15550001111", name="Ana Souza")
        named = MessageTemplate.objects.create(
            waba_id="1",
            name="hello",
            language="en_US",
            parameter_format="NAMED",
            components=[{"type": "BODY", "text": "Hi {{first_name}} ({{phone}}), {{order}}."}],
        )
        filled = template_parameters_fill(template=named, contact=contact)
        assert filled.parameters == {"first_name": "Ana", "phone": "+15550001111", "order": ""}
        assert filled.missing == ("order",)
        positional = MessageTemplate.objects.create(
            waba_id="1",
            name="hello",
            language="pt_BR",
            components=[{"type": "BODY", "text": "Oi {{1}}, pedido {{2}}."}],
        )
        filled = template_parameters_fill(
            template=positional, contact=contact, mapping={"1": "name"}
        )
        assert filled.parameters == ["Ana Souza", ""]
        assert filled.missing == ("2",)
        with pytest.raises(KeyError):
            template_parameters_fill(template=positional, contact=contact, mapping={"1": "email"})
