"""Fixtures of the door tests: an event with its branch's volunteer and organizer."""

from __future__ import annotations

import pytest


@pytest.fixture
def door(make_branch, make_user, make_event):
    """A published event with 10 seats and a volunteer, an organizer and an outsider."""

    class Door:
        branch = make_branch()
        event = make_event(branch, capacity=10)
        volunteer = make_user("volunteer", branches=[branch])
        organizer = make_user("organizer", branches=[branch])
        outsider = make_user("volunteer")

    return Door
