"""CompiledQuery: the same rows and instances as the ORM, built once per connection."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models
from django.db.models import Count, Q, QuerySet
from django.db.models.signals import post_init, pre_init
from django.test.utils import CaptureQueriesContext, isolate_apps
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership
from phiwarden.audit.models import AuditEvent
from phiwarden.core.statements import CompiledQuery, _plain, new_instance


def _members(organization_id: int, email: str) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization_id=organization_id, user__email=email)
        .select_related("user", "organization")
        .annotate(client_count=Count("clients"))
        .order_by("pk")
    )


MEMBERS = CompiledQuery(_members, ints=("organization_id",), texts=("email",))


def _same(a: Membership, b: Membership) -> None:
    assert type(a) is type(b) is Membership
    for model_a, model_b in ((a, b), (a.user, b.user), (a.organization, b.organization)):
        assert model_a.__dict__.keys() - {"_state"} == model_b.__dict__.keys() - {"_state"}
        for name in model_a.__dict__.keys() - {"_state"}:
            assert getattr(model_a, name) == getattr(model_b, name), name
    assert a._state.db == b._state.db
    assert not a._state.adding


def test_rows_and_related_instances_equal_the_orms(biller, owner, outsider):
    email = biller.user.email

    compiled = MEMBERS.fetch(organization_id=biller.organization_id, email=email)

    expected = list(_members(biller.organization_id, email))
    assert len(compiled) == len(expected) == 1
    _same(compiled[0], expected[0])
    assert compiled[0].client_count == biller.clients.count() > 0  # type: ignore[attr-defined]
    # related rows come from the same statement: no query to reach them
    with CaptureQueriesContext(connection) as queries:
        assert compiled[0].user.email == email
        assert compiled[0].organization.slug == biller.organization.slug
    assert len(queries) == 0


def test_later_calls_swap_the_values_into_sql_built_once(biller, owner, outsider):
    built: list[int] = []

    def counted(organization_id: int, email: str) -> QuerySet[Membership]:
        built.append(organization_id)
        return _members(organization_id, email)

    query = CompiledQuery(counted, ints=("organization_id",), texts=("email",))

    mine = query.fetch(organization_id=owner.organization_id, email=owner.user.email)
    theirs = query.fetch(organization_id=outsider.organization_id, email=outsider.user.email)
    crossed = query.fetch(organization_id=outsider.organization_id, email=owner.user.email)

    assert [m.pk for m in mine] == [owner.pk]
    assert [m.pk for m in theirs] == [outsider.pk]
    assert crossed == []  # both values take part: the owner is not in the other organization
    assert len(built) == 1  # compiled once, with placeholders, not with a caller's values
    assert built[0] not in {owner.organization_id, outsider.organization_id}


def test_values_keep_the_columns_types_after_conversion(organization, clients):
    query = CompiledQuery(
        lambda organization_id: Client.objects.filter(organization_id=organization_id).order_by(
            "pk"
        ),
        ints=("organization_id",),
    )

    compiled = query.fetch(organization_id=organization.pk)

    expected = list(Client.objects.filter(organization_id=organization.pk).order_by("pk"))
    assert [c.pk for c in compiled] == [c.pk for c in expected]
    for got, want in zip(compiled, expected, strict=True):
        assert got.created_at == want.created_at  # aware datetime, converted on SQLite too
        assert type(got.created_at) is type(want.created_at)


def test_an_id_no_column_can_hold_finds_nothing_instead_of_failing(biller):
    assert MEMBERS.fetch(organization_id=2**63, email=biller.user.email) == []
    assert MEMBERS.fetch(organization_id=-(2**63) - 1, email=biller.user.email) == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"organization_id": 1}, r"missing \['email'\]"),
        ({"organization_id": 1, "email": "a", "extra": 2}, r"unexpected \['extra'\]"),
        ({"organization_id": "1", "email": "a"}, "'organization_id' must be an int"),
        ({"organization_id": True, "email": "a"}, "'organization_id' must be an int"),
        ({"organization_id": 1, "email": 5}, "'email' must be a str"),
    ],
)
def test_wrong_arguments_are_refused_before_any_sql(db, values, message):
    with CaptureQueriesContext(connection) as queries, pytest.raises(TypeError, match=message):
        MEMBERS.fetch(**values)
    assert len(queries) == 0


def test_an_argument_that_does_not_reach_the_parameters_is_refused(db):
    # `Q()` drops the filter when the value is falsy-looking to this builder: the shape
    # depends on the value, which a compiled query cannot serve.
    hidden = CompiledQuery(
        lambda organization_id, email: Membership.objects.filter(
            Q(organization_id=organization_id) if organization_id > 0 else Q()
        ),
        ints=("organization_id",),
        texts=("email",),
    )

    with pytest.raises(ImproperlyConfigured, match=r"\['email', 'organization_id'\]"):
        hidden.fetch(organization_id=1, email="a@example.test")


def test_an_argument_cannot_be_both_kinds() -> None:
    with pytest.raises(ImproperlyConfigured):
        CompiledQuery(_members, ints=("email",), texts=("email",))


@pytest.mark.parametrize("shape", ["values", "values_list", "prefetch_related"])
def test_a_query_without_plain_model_rows_is_refused(db, shape):
    def build(organization_id: int) -> QuerySet[Client]:
        clients = Client.objects.filter(organization_id=organization_id)
        if shape == "prefetch_related":
            return clients.prefetch_related("assigned_memberships")
        return getattr(clients, shape)("pk")  # type: ignore[no-any-return]

    query = CompiledQuery(build, ints=("organization_id",))

    with pytest.raises(ImproperlyConfigured, match="must select model instances"):
        query.fetch(organization_id=1)


@isolate_apps("phiwarden.core")
def test_only_models_that_add_nothing_to_instances_skip_init() -> None:
    class WithFile(models.Model):  # FileDescriptor wraps the value in a FieldFile
        upload = models.FileField()

        def __str__(self) -> str:
            return self.upload.name or ""

    class WithInit(models.Model):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self.seen = True

        def __str__(self) -> str:
            return str(self.pk)

    assert all(_plain(model) for model in (Membership, Client, AuditEvent))
    assert not _plain(WithFile)
    assert not _plain(WithInit)


@pytest.mark.parametrize("signal", [pre_init, post_init])
def test_a_listener_to_instance_signals_gets_the_orms_instances(biller, signal):
    senders: list[type[models.Model]] = []

    def listener(sender: type[models.Model], **kwargs: object) -> None:
        senders.append(sender)

    signal.connect(listener)
    try:
        compiled = MEMBERS.fetch(organization_id=biller.organization_id, email=biller.user.email)
    finally:
        signal.disconnect(listener)

    # connected after the query was first compiled, and still heard: checked on each row
    assert sorted(s.__name__ for s in senders) == ["Membership", "Organization", "User"]
    _same(compiled[0], _members(biller.organization_id, biller.user.email)[0])


def _event_values(organization_id: int) -> dict[str, object]:
    return {
        "organization_id": organization_id,
        "occurred_at": timezone.now(),
        "actor_id": None,
        "actor_label": "",
        "api_token_prefix": "",
        "event_code": "auth.login",
        "outcome": "allowed",
        "target_type": "",
        "target_id": "",
        "purpose": "",
        "request_id": "r-1",
        "ip_address": None,
        "via": "",
        "data": {"k": 1},
        "fields_disclosed": [],
    }


def test_a_new_instance_equals_the_models_own(organization):
    values = _event_values(organization.pk)

    made, expected = new_instance(AuditEvent, **values), AuditEvent(**values)

    assert made.__dict__.keys() - {"_state"} == expected.__dict__.keys() - {"_state"}
    for name in expected.__dict__.keys() - {"_state"}:
        assert getattr(made, name) == getattr(expected, name), name
    assert made.pk is None
    assert made._state.adding
    assert made._state.db is None
    assert made.organization == organization  # relations resolve as on any instance


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"drop": "request_id"}, r"missing \['request_id'\]"),
        ({"add": "organization"}, r"unexpected \['organization'\]"),  # by attname only
        ({"add": "id"}, r"unexpected \['id'\]"),  # the automatic key is the database's
    ],
)
def test_a_new_instance_takes_every_field_and_only_fields(organization, change, message):
    values = _event_values(organization.pk)
    values.pop(change.get("drop", ""), None)
    if "add" in change:
        values[change["add"]] = 1

    with pytest.raises(TypeError, match=message):
        new_instance(AuditEvent, **values)


def test_a_new_instance_goes_through_init_when_someone_listens(organization):
    heard: list[object] = []

    def listener(instance: models.Model, **kwargs: object) -> None:
        heard.append(instance)

    post_init.connect(listener, sender=AuditEvent)
    try:
        made = new_instance(AuditEvent, **_event_values(organization.pk))
    finally:
        post_init.disconnect(listener, sender=AuditEvent)

    assert heard == [made]
