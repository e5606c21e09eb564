from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_owner_signs_in_and_sees_dashboard(owner, login_client):
    client = login_client(owner)

    response = client.get("/o/synthetic-billing/", follow=True)

    assert response.status_code == 200
    assert b"Live checklist" in response.content


@pytest.mark.django_db
def test_outsider_gets_404_for_other_organization(owner, outsider, login_client):
    client = login_client(outsider)

    response = client.get("/o/synthetic-billing/")

    assert response.status_code == 404
