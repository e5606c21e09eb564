"""The operations admin shows which keys exist, never key material or file names, and
changes nothing."""

from __future__ import annotations

import io

import pytest
from django.contrib import admin
from django.template.response import TemplateResponse
from django.test import RequestFactory

from phiwarden.accounts.models import User
from phiwarden.vault.blobs import blob_store
from phiwarden.vault.models import DataKey, EncryptedBlob, IndexKey
from phiwarden.vault.services import cipher_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return User.objects.create_superuser("operator@example.test", "synthetic password 42")


def render_change_page(model, obj, user) -> str:
    request = RequestFactory().get("/")
    request.user = user
    response = admin.site._registry[model].change_view(request, str(obj.pk))
    assert isinstance(response, TemplateResponse)
    content: bytes = response.render().content
    return content.decode()


@pytest.mark.parametrize("model", [DataKey, IndexKey, EncryptedBlob])
def test_vault_models_are_read_only_in_the_admin(operator, model):
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = operator

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_the_data_key_page_shows_no_key_material(organization, operator):
    cipher = cipher_for(organization)
    key = DataKey.objects.get(organization=organization)

    page = render_change_page(DataKey, key, operator)

    assert key.key_id in page
    assert "wrapped_key" not in page
    assert bytes(key.wrapped_key).hex() not in page
    assert cipher.data_key(key.key_id).hex() not in page


def test_the_file_page_shows_no_file_name(organization, operator):
    blob = blob_store(
        organization=organization,
        stream=io.BytesIO(b"synthetic"),
        filename="Synthetic Person statement.pdf",
        content_type="application/pdf",
        purpose="statement",
    )

    page = render_change_page(EncryptedBlob, blob, operator)

    assert str(blob.row_key) in page
    assert "Synthetic Person" not in page
    assert "filename" not in page.lower()
