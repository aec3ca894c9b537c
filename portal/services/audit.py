"""The audit log: who did what, when, from where, on which object."""

import json

from flask import has_request_context, request

from ..models import AuditLog

# Never written to the audit, whatever a caller passes.
SECRET_KEYS = {
    "password",
    "password_hash",
    "prepcom_hash",
    "passport_number",
    "passport_key",
    "date_of_birth",
    "birth_key",
    "token",
}


def client_address():
    if not has_request_context():
        return ""
    return request.remote_addr or ""


def record(action, account=None, obj=None, organization=None, actor=None, **details):
    """Write one audit row. Call it inside the transaction that made the change."""
    clean = {k: v for k, v in details.items() if k not in SECRET_KEYS}
    if organization is None and obj is not None:
        organization = getattr(obj, "organization_id", None)
    return AuditLog.create(
        account=account,
        actor=actor if actor is not None else (account.username if account else ""),
        address=client_address(),
        action=action,
        object_type=obj.__class__.__name__.lower() if obj is not None else "",
        object_id=obj.id if obj is not None else None,
        organization=organization,
        details=json.dumps(clean, ensure_ascii=False, default=str) if clean else "",
    )
