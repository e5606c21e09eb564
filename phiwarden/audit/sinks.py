"""Send each new tree head outside the database, so that rewriting history needs more
than database access (DESIGN.md, audit trail).

AUDIT_TREE_HEAD_SINKS lists where, comma-separated:
  file:/path/to/heads.jsonl    append one JSON line per tree head (fsync'ed)
  email:security               e-mail the organization's security officers
  webhook:https://host/path    POST the JSON (operator-configured; nothing else calls out)
A sink that fails is logged by kind, never with event contents, and does not undo the seal.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail

from phiwarden.audit.models import TreeHead

logger = logging.getLogger(__name__)


def _to_file(path: str, line: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _to_email(head: TreeHead, line: str) -> None:
    from phiwarden.accounts.models import Membership
    from phiwarden.accounts.roles import Role

    if not head.log_id:
        return
    recipients = list(
        Membership.objects.active()
        .filter(organization_id=head.log_id, role=Role.SECURITY_OFFICER)
        .values_list("user__email", flat=True)
    )
    if recipients:
        send_mail(
            subject=f"PHI Warden audit tree head {head.tree_size}",
            message=(
                "Keep this message: it lets you prove later that the audit log was not "
                f"rewritten.\n\n{line}\n"
            ),
            from_email=None,
            recipient_list=recipients,
        )


def _to_webhook(url: str, line: str) -> None:
    if not url.startswith("https://") and not settings.DEBUG:
        raise ValueError("webhook sinks must use https")
    request = urllib.request.Request(  # noqa: S310  (operator-configured https URL)
        url, data=line.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


def tree_head_export(head: TreeHead) -> None:
    line = json.dumps(head.as_json(), sort_keys=True)
    for sink in settings.AUDIT_TREE_HEAD_SINKS:
        kind, _, target = sink.partition(":")
        try:
            if kind == "file":
                _to_file(target, line)
            elif kind == "email":
                _to_email(head, line)
            elif kind == "webhook":
                _to_webhook(target, line)
            else:
                logger.error("Unknown tree head sink kind %r", kind)
        except Exception:
            logger.exception("Tree head sink %s failed for log %s", kind, head.log_id)
