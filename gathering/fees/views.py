"""Pages of the fees domain."""

from flask import Blueprint

bp = Blueprint("fees", __name__)
