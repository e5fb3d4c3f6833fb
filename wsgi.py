"""WSGI entry point: gunicorn wsgi:app, flask --app wsgi ..."""

from gathering import create_app

app = create_app()
