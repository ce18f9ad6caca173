"""Who may do what: the ownership rules (docs/api.md, "Who may do what"), in one place."""

from __future__ import annotations

from onehub.domain.errors import PermissionDenied
from onehub.domain.models import Principal


def require_admin(principal: Principal, action: str) -> None:
    """Raise PermissionDenied unless the caller is the administrator."""
    if not principal.is_admin:
        raise PermissionDenied(f"only admin may {action}")


def require_owner_or_admin(principal: Principal, owner_id: str, action: str) -> None:
    """Raise PermissionDenied unless the caller is `owner_id` or the administrator."""
    if principal.user_id != owner_id and not principal.is_admin:
        raise PermissionDenied(f"only its owner or admin may {action}")
