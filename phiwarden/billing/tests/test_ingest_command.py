"""`manage.py ingest_x12`: files in, one transaction each, matched to their client, and the
flow they travelled suggested on the PHI flow map."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from phiwarden.billing.models import Claim, ClaimPayment, X12File
from phiwarden.billing.synthetic import generate_batch
from phiwarden.partners.models import Flow

pytestmark = pytest.mark.django_db


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    batch = generate_batch(seed=23, claims=8)
    paths = {}
    for kind, writer in (("837p", batch.write_837p), ("835", batch.write_835)):
        path = tmp_path / f"batch.{kind}"
        with path.open("wb") as handle:
            writer(handle)
        paths[kind] = path
    bad = tmp_path / "broken.837"
    bad.write_bytes(paths["837p"].read_bytes()[:400])
    paths["broken"] = bad
    return paths


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest_x12", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_files_import_for_the_named_client_and_again_as_no_ops(files, owner, clients):
    org, who, client = owner.organization.slug, owner.user.email, clients[0].name

    out, _ = _run(
        str(files["837p"]), str(files["835"]), "--org", org, "--as", who, "--client", client
    )
    again, _ = _run(str(files["837p"]), "--org", org, "--as", who, "--client", client)

    assert "8 claims" in out
    assert Claim.objects.filter(client=clients[0]).count() == 8
    assert ClaimPayment.objects.count() > 0
    assert "imported before" in again
    assert X12File.objects.count() == 2


def test_without_a_client_the_file_is_matched_by_its_provider_npi(files, owner, clients):
    org, who = owner.organization.slug, owner.user.email
    _run(str(files["837p"]), "--org", org, "--as", who, "--client", clients[0].name)

    out, _ = _run(str(files["835"]), "--org", org, "--as", who)

    assert clients[0].name in out
    assert ClaimPayment.objects.filter(remittance__client=clients[0]).exists()


def test_an_unknown_provider_needs_the_client_named(files, owner):
    with pytest.raises(SystemExit) as exit_status:
        _run(str(files["837p"]), "--org", owner.organization.slug, "--as", owner.user.email)

    assert exit_status.value.code == 1
    assert X12File.objects.count() == 0


def test_a_refused_file_exits_1_and_the_others_still_import(files, owner, clients, capsys):
    org, who, client = owner.organization.slug, owner.user.email, clients[0].name
    err = io.StringIO()

    with pytest.raises(SystemExit) as exit_status:
        call_command(
            "ingest_x12", str(files["broken"]), str(files["837p"]), "--org", org, "--as", who,
            "--client", client, "--no-progress", stdout=io.StringIO(), stderr=err,
        )  # fmt: skip

    assert exit_status.value.code == 1
    assert "broken.837: refused" in err.getvalue()
    assert "segment" in err.getvalue()
    assert X12File.objects.count() == 1


def test_bad_arguments_are_refused(files, owner):
    with pytest.raises(CommandError, match="No active member"):
        _run(str(files["837p"]), "--org", owner.organization.slug, "--as", "nobody@example.test")
    with pytest.raises(CommandError, match="No client"):
        _run(
            str(files["837p"]), "--org", owner.organization.slug, "--as", owner.user.email,
            "--client", "No Such Practice",
        )  # fmt: skip


def test_each_import_suggests_its_flow_on_the_map(files, owner, clients):
    org, who, client = owner.organization.slug, owner.user.email, clients[0].name

    _run(str(files["837p"]), str(files["835"]), "--org", org, "--as", who, "--client", client)

    flows = {(f.stage, f.channel) for f in Flow.objects.filter(source_client=clients[0])}
    assert flows == {("claims", "sftp"), ("remits", "sftp")}
