#!/bin/bash
# The shipped example configs (etc/*.conf) validate with the real plugins:
# every key, type, storage and rules file checked by `envsync check --offline`.
. "$top_srcdir/tests/lib.sh"
es_tmpdir
E="$T/etc/envsync"
mkdir -p "$E/secrets" "$E/sanitise"
for f in "$top_srcdir"/etc/*.conf; do
    sed "s|/etc/envsync|$E|g; s|/usr/lib/envsync|$T/plugins|" "$f" > "$T/$(basename "$f")"
done
for s in whitehall-mysql-password opensearch-password sanitise-key; do echo "secret-$s" > "$E/secrets/$s"; done
cp "$top_srcdir/etc/sanitise/whitehall.rules" "$E/sanitise/"
cp "$top_srcdir/etc/sanitise/whitehall.rules" "$E/sanitise/publishing-api.rules"
echo "UPDATE users SET name = 'x';" > "$E/sanitise/publishing-api-integration.sql"
export PUBLISHING_API_DB_PASSWORD=example AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=example-secret
export DEMO_DIR="$T" DEMO_PGPORT=5432 DEMO_RULES="$top_srcdir/scripts/demo/shop.rules"
for c in production staging integration local; do
    run_envsync -c "$T/$c.conf" check --offline
    expect_rc 0 "etc/$c.conf"
    expect_out "$c.conf: ok" "etc/$c.conf validates"
done
pass
