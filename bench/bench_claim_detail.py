"""Requests per second for an audited, projected claim-detail read over real HTTP.

A real server (gunicorn, `config.wsgi`, 2 sync workers) is started in a subprocess on a
free 127.0.0.1 port against the bench's fresh database, with the same settings and keys
as the bench process (config.test_settings: SECRET_KEY, PHI_MASTER_KEY, AUDIT_SIGNING_KEY).
A few client threads (http.client, a new connection per request, no network beyond
localhost) then drive, in interleaved rounds on the same server:

* ours: `GET /api/v1/billing/claims/{id}?purpose=payment` with a personal API token of a
  claims specialist assigned to the claim's client: token authentication, role and
  assignment checks, decrypting the claim's PHI, the minimum-necessary projection for the
  payment purpose, and one audit event per read (a database write, hash-chained);
* peer: `GET /api/v1/health` (no authentication, no audit, one `SELECT 1`), the floor
  the framework and the server set.

Goal: ours >= 0.3 of the peer's rate, i.e. `ours/peer` (time over time for the same
number of requests) <= 3.33. Each phase sends REQUESTS requests from THREADS threads; the
figures are the best of ROUNDS rounds. The server is always stopped (its process group is
terminated, then killed) however the benchmark ends.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from phiwarden.accounts.models import Client, Membership, Organization, User
from phiwarden.accounts.roles import Capability, Role
from phiwarden.accounts.services import api_token_create
from phiwarden.billing.imports import x12_import
from phiwarden.billing.models import Claim
from phiwarden.billing.synthetic import generate_batch

DATABASES = ("sqlite", "postgresql")

ROOT = Path(__file__).absolute().parent.parent
THREADS = 4
WORKERS = 2
REQUESTS = 600
ROUNDS = 3
CLAIMS = 200


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@contextmanager
def _server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn on 127.0.0.1:port in a process group of its own, always stopped."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(WORKERS), "--log-level", "warning", "--timeout", "60"]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )
        try:
            _wait_ready(port, process, log)
            yield process
        finally:
            _stop(process)


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: object) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            if _get(port, "/api/v1/health", {}) == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /api/v1/health within 60 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)  # the master and its workers
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def _drive(port: int, paths: list[str], headers: dict[str, str]) -> float:
    """Send every path (split over THREADS threads); the wall-clock seconds it took."""
    errors: list[str] = []

    def worker(mine: list[str]) -> None:
        for path in mine:
            status = _get(port, path, headers)
            if status != 200:
                errors.append(f"{status}")
                return

    threads = [threading.Thread(target=worker, args=(paths[i::THREADS],)) for i in range(THREADS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"requests failed with HTTP {errors[0]}")
    return seconds


def _fixture() -> tuple[list[int], str]:
    """A synthetic organization with CLAIMS imported claims; a claims specialist's token."""
    organization = Organization.objects.create(
        name="Synthetic Detail Bench",
        slug="synthetic-detail-bench",
        is_synthetic=True,
        mfa_required=False,
    )
    owner_user = User.objects.create_user("owner@example.test", None, full_name="Synthetic Owner")
    owner = Membership.objects.create(user=owner_user, organization=organization, role=Role.OWNER)
    client = Client.objects.create(organization=organization, name="Synthetic Family Practice")
    with tempfile.TemporaryFile() as f:
        generate_batch(2, claims=CLAIMS, institutional_share=0.0, hospitals=0).write_837p(f)
        f.seek(0)
        x12_import(actor=owner, client=client, stream=f, filename="bench.x12")
    biller_user = User.objects.create_user(
        "biller@example.test", None, full_name="Synthetic Claims Specialist"
    )
    biller = Membership.objects.create(
        user=biller_user, organization=organization, role=Role.CLAIMS_SPECIALIST
    )
    biller.clients.set([client])
    _, raw = api_token_create(
        actor=biller, name="bench", scopes=[Capability.BILLING_VIEW_PHI.value], days=1
    )
    ids = list(Claim.objects.filter(organization=organization).values_list("pk", flat=True))
    return ids, raw


def _best(fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(ROUNDS))


def run() -> list[dict[str, object]]:
    claim_ids, token = _fixture()
    auth = {"Authorization": f"Bearer {token}"}
    detail = [
        f"/api/v1/billing/claims/{claim_ids[i % len(claim_ids)]}?purpose=payment"
        for i in range(REQUESTS)
    ]
    health = ["/api/v1/health"] * REQUESTS
    port = _free_port()
    with _server(port):
        assert _get(port, detail[0], auth) == 200, "the claim detail did not answer 200"
        _drive(port, detail[:50], auth)  # warm both workers
        _drive(port, health[:50], {})
        ours = peer = float("inf")
        for _ in range(ROUNDS):  # interleaved, so load changes hit both alike
            peer = min(peer, _drive(port, health, {}))
            ours = min(ours, _drive(port, detail, auth))
    print(
        f"   {REQUESTS} requests x {ROUNDS} rounds, {THREADS} client threads, gunicorn "
        f"{WORKERS} sync workers: detail {REQUESTS / ours:,.0f}/s, health "
        f"{REQUESTS / peer:,.0f}/s, ratio {peer / ours:.2f} (goal >= 0.3)",
        flush=True,
    )
    return [
        {
            "name": "claim_detail_api_payment",
            "n": REQUESTS,
            "ours_seconds": ours,
            "peer_name": "GET /api/v1/health (same server)",
            "peer_seconds": peer,
        }
    ]
