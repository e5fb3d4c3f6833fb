"""Sign-up rules: registering, the waiting list, changes and cancellations."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from gathering.errors import NotFound
from gathering.rsvp.models import Registration
from gathering.security import token_hash


def get_registration_by_manage_token(session, token: str, *, event_id: int | None = None
                                     ) -> Registration:
    """The registration a secret manage link belongs to. Raises NotFound (nothing revealed).

    Only the token's hash is stored; the lookup is by hash, so no timing reveals a prefix.
    With ``event_id``, a token of another event's registration is refused too.
    """
    if not token or len(token) > 100:
        raise NotFound(_l("This link is not valid."))
    reg = session.scalar(sa.select(Registration).where(
        Registration.manage_token_hash == token_hash(token)))
    if reg is None or (event_id is not None and reg.event_id != event_id):
        raise NotFound(_l("This link is not valid."))
    return reg
