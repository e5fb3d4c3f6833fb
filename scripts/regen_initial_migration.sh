#!/usr/bin/env bash
# Regenerate migrations/versions/0001_initial_schema.py from the models.
# Only while nothing has been released: once a revision is merged, add a new one instead.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 9>/tmp/tsudoi-migration.lock
flock 9
tmp=$(mktemp -d)
rm -f migrations/versions/0001_initial_schema.py
DATABASE_URL="sqlite:///$tmp/empty.sqlite3" .venv/bin/flask --app wsgi db migrate -m "initial schema" >/dev/null 2>&1
file=$(ls migrations/versions/*_initial_schema.py)
mv "$file" migrations/versions/0001_initial_schema.py
sed -i -e "s/^revision = .*/revision = '0001'/" \
       -e "s/^Revision ID: .*/Revision ID: 0001/" \
       -e "s/gathering\.timeutil\.UTCDateTime(timezone=True)/sa.DateTime(timezone=True)/g" \
       migrations/versions/0001_initial_schema.py
rm -rf "$tmp"
echo "migrations/versions/0001_initial_schema.py regenerated"
