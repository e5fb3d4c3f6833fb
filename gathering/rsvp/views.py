"""Pages of the rsvp domain."""

from flask import Blueprint

bp = Blueprint("rsvp", __name__)
