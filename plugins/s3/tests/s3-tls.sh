#!/bin/bash
# TLS: the plugin talks HTTPS to an endpoint with a self-signed certificate
# (the fault proxy terminating TLS in front of the real S3): refused by
# default (exit 5, the message says why), accepted with ca_file naming the
# certificate, and with verify_tls = false.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/s3lib.sh"
set -e
s3_setup
command -v openssl >/dev/null || skip "openssl command not installed"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1 \
    || fail "could not make a test certificate"
start_proxy --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
case $PROXY_URL in https://*) ;; *) fail "proxy is not https";; esac

ENDPOINT=$PROXY_URL s3_conf "$T/strict.conf" strict 'retries = 1;'
run_envsync run -c "$T/strict.conf" strict
expect_rc 5 "self-signed certificate without ca_file"
expect_out 'certificate|TLS|SSL' "message names the TLS problem"

ENDPOINT=$PROXY_URL s3_conf "$T/ca.conf" withca "ca_file = \"$T/cert.pem\";"
run_envsync run -c "$T/ca.conf" withca
expect_rc 0 "HTTPS with ca_file"
[ -s "$T/db/withca_dst/t0" ] || fail "nothing restored over HTTPS"

ENDPOINT=$PROXY_URL s3_conf "$T/insecure.conf" insecure 'verify_tls = false;'
run_envsync run -c "$T/insecure.conf" insecure
expect_rc 0 "HTTPS with verify_tls = false"
expect_out 'verify_tls = false' "disabling verification is warned about"
pass
