"""Door check-in pages. Placeholder; the door issue builds them."""

from flask import Blueprint, render_template

bp = Blueprint("checkin", __name__)


@bp.get("/c/<token>")
def ticket(token: str):
    """What a phone camera opens from a ticket QR code."""
    return render_template("errors/error.html", status=200, message="")
