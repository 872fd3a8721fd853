#!/bin/bash
# Every credential source of the AWS SDK chain, each used for a real store +
# fetch against S3: environment, shared credentials/config files with a
# profile, web identity (STS AssumeRoleWithWebIdentity), the container
# endpoint with an authorization token file, EC2 IMDSv2; no source at all
# (exit 6); and temporary credentials refreshed before they expire during a
# run.  STS, the container endpoint and IMDS cannot be reached from here:
# fake_aws.py stands in for them and hands out the real test keys.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/s3lib.sh"
set -e
s3_setup
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
      AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN \
      AWS_ROLE_SESSION_NAME AWS_CONTAINER_CREDENTIALS_FULL_URI \
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_AUTHORIZATION_TOKEN \
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE AWS_EC2_METADATA_SERVICE_ENDPOINT \
      AWS_EC2_METADATA_DISABLED AWS_STS_ENDPOINT AWS_ENDPOINT_URL_STS
export HOME="$T/home"
mkdir -p "$HOME"
export CREDS=""
ROWS=300

SESSION="FakeSessionToken-$$-abcdefghijklmnop"
AUTH="container-auth-token-$$-xyz"
start_fake() {  # port file, extra args
    local pf=$1; shift
    python3 "$S3T_DIR/fake_aws.py" --port-file "$pf" --access-key "$S3_ACCESS_KEY" \
        --secret-key "$S3_SECRET_KEY" --session-token "$SESSION" --auth-token "$AUTH" "$@" \
        >>"$T/fake.log" 2>&1 &
    _s3_pids="$_s3_pids $!"
    wait_port_file "$pf"
}
start_fake "$T/fake.port"
FAKE="http://127.0.0.1:$(cat "$T/fake.port")"
stat_of() { json_get "$(curl -sf "$1/__stats")" "d['$2']"; }
no_secret_in_output() {
    case "$out" in *"$S3_SECRET_KEY"*|*"$SESSION"*|*"$AUTH"*)
        fail "$1: a secret appears in the output:
$out";; esac
}

# --- environment
s3_conf "$T/env.conf" fromenv
AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY \
    run_envsync run -c "$T/env.conf" fromenv
expect_rc 0 "credentials from the environment"

# --- shared credentials file, profile from AWS_PROFILE
cat >"$T/credentials" <<INI
[default]
aws_access_key_id = nobody:wrong
aws_secret_access_key = wrong-secret

[envsync-test]
aws_access_key_id = $S3_ACCESS_KEY
aws_secret_access_key = $S3_SECRET_KEY
INI
s3_conf "$T/file.conf" fromfile
AWS_SHARED_CREDENTIALS_FILE="$T/credentials" AWS_PROFILE=envsync-test \
    run_envsync run -c "$T/file.conf" fromfile
expect_rc 0 "credentials from the shared credentials file"
no_secret_in_output "shared file"

# --- config file only, profile given as option; ~/.aws is the default place
mkdir -p "$HOME/.aws"
cat >"$HOME/.aws/config" <<INI
[profile cfgonly]
region = $S3_REGION
aws_access_key_id = $S3_ACCESS_KEY
aws_secret_access_key = $S3_SECRET_KEY
INI
s3_conf "$T/cfg.conf" fromcfg 'profile = "cfgonly";'
run_envsync run -c "$T/cfg.conf" fromcfg
expect_rc 0 "credentials from ~/.aws/config with profile option"
s3_conf "$T/noprof.conf" noprof 'profile = "nosuchprofile";'
run_envsync run -c "$T/noprof.conf" noprof
expect_rc 6 "unknown profile"
expect_out "nosuchprofile" "unknown profile is named"
rm -rf "$HOME/.aws"

# --- web identity: token file + role -> STS
echo "web-identity-token-for-tests" >"$T/web-token"
s3_conf "$T/web.conf" webid "sts_endpoint = \"$FAKE/sts/\";"
AWS_WEB_IDENTITY_TOKEN_FILE="$T/web-token" AWS_ROLE_ARN="arn:aws:iam::123456789012:role/envsync" \
    run_envsync run -c "$T/web.conf" webid
expect_rc 0 "web identity credentials"
[ "$(stat_of "$FAKE" sts)" -ge 1 ] || fail "STS was not asked"
no_secret_in_output "web identity"
echo "some-other-token" >"$T/bad-token"
AWS_WEB_IDENTITY_TOKEN_FILE="$T/bad-token" AWS_ROLE_ARN="arn:aws:iam::123456789012:role/envsync" \
    run_envsync run -c "$T/web.conf" webid
expect_rc 6 "web identity token refused by STS"
expect_out "InvalidIdentityToken" "STS error code surfaced"

# --- container endpoint with an authorization token file
printf '%s\n' "$AUTH" >"$T/auth-token"
s3_conf "$T/ctr.conf" container
AWS_CONTAINER_CREDENTIALS_FULL_URI="$FAKE/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/auth-token" \
    run_envsync run -c "$T/ctr.conf" container
expect_rc 0 "container credentials"
[ "$(stat_of "$FAKE" container)" -ge 1 ] || fail "container endpoint was not asked"
no_secret_in_output "container"
AWS_CONTAINER_CREDENTIALS_FULL_URI="$FAKE/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong" \
    run_envsync run -c "$T/ctr.conf" container
expect_rc 6 "container endpoint refusing the authorization token"

# --- EC2 instance metadata (IMDSv2), endpoint from the option
s3_conf "$T/imds.conf" imds "imds_endpoint = \"$FAKE\";"
run_envsync run -c "$T/imds.conf" imds
expect_rc 0 "IMDSv2 credentials"
[ "$(stat_of "$FAKE" imds_token)" -ge 1 ] || fail "IMDSv2 token was not requested"
[ "$(stat_of "$FAKE" imds_creds)" -ge 1 ] || fail "IMDS credentials were not requested"

# ... and from AWS_EC2_METADATA_SERVICE_ENDPOINT
n=$(stat_of "$FAKE" imds_creds)
s3_conf "$T/imds2.conf" imds2
AWS_EC2_METADATA_SERVICE_ENDPOINT="$FAKE/" run_envsync run -c "$T/imds2.conf" imds2
expect_rc 0 "IMDSv2 credentials, endpoint from the environment"
[ "$(stat_of "$FAKE" imds_creds)" -gt "$n" ] || fail "IMDS (environment endpoint) not asked"

# --- nothing anywhere
s3_conf "$T/none.conf" none
AWS_EC2_METADATA_DISABLED=true run_envsync run -c "$T/none.conf" none
expect_rc 6 "no credentials at all"
expect_out "no credentials found" "explains that no source had credentials"

# --- S3 rejects the session token as expired before its Expiration:
# fresh credentials are fetched and the request is made again
start_proxy
proxy_rules '[{"method": "PUT", "query": "partNumber", "action": "status", "status": 400,
               "code": "ExpiredToken", "count": 1}]'
before=$(stat_of "$FAKE" container)
ROWS=60000 ENDPOINT=$PROXY_URL s3_conf "$T/expired.conf" expired 'part_size = "5M";'
AWS_CONTAINER_CREDENTIALS_FULL_URI="$FAKE/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH" \
    run_envsync run -c "$T/expired.conf" expired
expect_rc 0 "run after an ExpiredToken answer"
expect_out "session token expired early" "the early expiry is reported"
[ "$(json_get "$(proxy_stats)" "d['fired'].get('0', 0)")" = 1 ] || fail "ExpiredToken not injected"
after=$(stat_of "$FAKE" container)
[ $((after - before)) -ge 2 ] || fail "credentials not fetched again after ExpiredToken"
no_secret_in_output "expired token"

# --- refresh: credentials living 2 s, a run lasting longer (each part
# upload delayed 1 s by the proxy, one at a time): fetched again mid-run
start_fake "$T/fake2.port" --lifetime 2
FAKE2="http://127.0.0.1:$(cat "$T/fake2.port")"
proxy_rules '[{"method": "PUT", "query": "partNumber", "action": "delay", "seconds": 1,
               "count": -1}]'
ROWS=60000 ENDPOINT=$PROXY_URL s3_conf "$T/refresh.conf" refresh \
    'part_size = "5M"; concurrency = 1;'
AWS_CONTAINER_CREDENTIALS_FULL_URI="$FAKE2/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH" \
    run_envsync run -c "$T/refresh.conf" refresh
expect_rc 0 "run with short-lived credentials"
n=$(stat_of "$FAKE2" container)
[ "$n" -ge 2 ] || fail "short-lived credentials fetched $n time(s); expected a refresh"
note "short-lived credentials fetched $n times during the run"
no_uploads_left
pass
