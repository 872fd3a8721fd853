#!/bin/bash
# Client-side encryption end to end: AES-256-GCM artifacts round-trip with
# the key, and a wrong key, a missing key, a tampered ciphertext byte or a
# truncated object are refused with nothing restored.
. "$top_srcdir/tests/core/common.sh"
C="$T/envsync.conf"
openssl rand -hex 32 > "$T/key"
openssl rand -hex 32 > "$T/wrong"
art='artifact = { encryption_key_file = "'"$T/key"'"; key_id = "test-2026"; };'
enc_prod=$(echo "$PROD_JOB" | sed "s|name = \"prod\";|name = \"prod\"; $art|")
conf "$enc_prod, $(echo "$(stage_job)" | sed "s|name = \"stage\";|name = \"stage\"; $art|")"
run_envsync -c "$C" run prod stage
expect_rc 0 "encrypted round trip"
ts=$(cat "$STORE/prod/latest")
A="$STORE/prod/$ts.envsync"
head -c 8 "$A" | grep -q ENVSYNC || fail "artifact does not start with the encryption magic"
if zstd -t "$A" 2>/dev/null; then fail "artifact is a plain zstd stream: not encrypted"; fi
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["artifact"]["encryption"]; assert e["key_id"]=="test-2026" and e["cipher"]=="aes-256-gcm", e' \
    "$STORE/prod/$ts.manifest" || fail "manifest does not record the key id"
grep -q "$(cat "$T/key")" "$STORE/prod/$ts.manifest" && fail "key in the manifest"
good=$(db_sum dst)
cp "$A" "$T/good"

# inspect FILE reads it with the same key forms the config accepts
run_envsync inspect "$A" --key-file "$T/key"
expect_rc 0 "inspect an encrypted file with its hex key"
expect_out "verified: " "inspect verifies the encrypted file"
python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(open(sys.argv[1]).read().strip())).decode())' \
    "$T/key" > "$T/key.b64"
run_envsync inspect "$A" --key-file "$T/key.b64"
expect_rc 0 "inspect with the key in base64"
run_envsync inspect "$A" --key-file "$T/wrong"
expect_rc 7 "inspect with the wrong key"
echo "not-a-key" > "$T/bad"
run_envsync inspect "$A" --key-file "$T/bad"
expect_rc 3 "inspect with a malformed key"

# wrong key -> integrity, nothing restored
conf "$enc_prod, $(echo "$(stage_job)" | sed "s|name = \"stage\";|name = \"stage\"; artifact = { encryption_key_file = \"$T/wrong\"; };|")"
run_envsync -c "$C" run stage
expect_rc 7 "wrong key"
expect_out "wrong key or tampered" "wrong key message"
printf '%s' "$out" | grep -q "$(cat "$T/wrong")" && fail "key printed"
[ "$(db_sum dst)" = "$good" ] || fail "wrong key: target changed"

# no key configured for an encrypted artifact -> config error naming the key id
conf "$enc_prod, $(stage_job)"
run_envsync -c "$C" run stage
expect_rc 3 "missing key"
expect_out "test-2026" "missing key names the key id"

conf "$enc_prod, $(echo "$(stage_job)" | sed "s|name = \"stage\";|name = \"stage\"; $art|")"
# one flipped ciphertext byte, manifest made to match (so only GCM can notice)
python3 - "$A" "$STORE/prod/$ts.manifest" <<'PY'
import hashlib, json, sys
a, m = sys.argv[1], sys.argv[2]
b = bytearray(open(a, 'rb').read()); b[len(b) * 2 // 3] ^= 0x01; open(a, 'wb').write(b)
j = json.load(open(m)); j["artifact"]["sha256"] = hashlib.sha256(b).hexdigest(); json.dump(j, open(m, 'w'))
PY
run_envsync -c "$C" run stage
expect_rc 7 "tampered ciphertext"
[ "$(db_sum dst)" = "$good" ] || fail "tampered: target changed"
[ ! -e "$DB/dst.envsync_new" ] || fail "tampered: temporary database left"

# truncated at a frame boundary region, manifest made to match
python3 - "$T/good" "$A" "$STORE/prod/$ts.manifest" <<'PY'
import hashlib, json, sys
g, a, m = sys.argv[1:4]
b = open(g, 'rb').read()[:-20]; open(a, 'wb').write(b)
j = json.load(open(m)); j["artifact"]["size"] = len(b); j["artifact"]["sha256"] = hashlib.sha256(b).hexdigest(); json.dump(j, open(m, 'w'))
PY
run_envsync -c "$C" run stage
expect_rc 7 "truncated ciphertext"
[ "$(db_sum dst)" = "$good" ] || fail "truncated: target changed"
pass
