/*
 * credentials.c - where the s3 plugin gets its keys, in the order the AWS
 * SDKs use:
 *
 *   1. explicit options (access_key_id, secret_access_key, session_token)
 *   2. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   3. shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and
 *      AWS_CONFIG_FILE (~/.aws/config), profile = option, AWS_PROFILE, default
 *   4. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *      [+ AWS_ROLE_SESSION_NAME] -> STS AssumeRoleWithWebIdentity
 *      (endpoint: option sts_endpoint, AWS_ENDPOINT_URL_STS, AWS_STS_ENDPOINT,
 *      else https://sts.<region>.amazonaws.com)
 *   5. container endpoint: AWS_CONTAINER_CREDENTIALS_FULL_URI or
 *      http://169.254.170.2 + AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, with
 *      Authorization from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN (EKS Pod Identity, ECS)
 *   6. EC2 instance metadata, IMDSv2 (endpoint: option imds_endpoint,
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254;
 *      AWS_EC2_METADATA_DISABLED=true skips it)
 *
 * The source is chosen once at init without network access; temporary
 * credentials (4-6) are fetched on first use and refreshed before they
 * expire: at expiration - min(5 min, lifetime / 2).  A failed refresh keeps
 * the old credentials while they are still valid.  get() is thread-safe:
 * one mutex, held across a refresh so only one thread fetches.
 */
#define _GNU_SOURCE
#include "s3.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

typedef enum src {
    SRC_STATIC = 0,
    SRC_WEB_IDENTITY,
    SRC_CONTAINER,
    SRC_IMDS
} src;

struct s3_credprov {
    pthread_mutex_t lock;
    src source;
    char source_name[160];
    s3_creds cur;
    time_t fetched_at;
    int force;                 /* the server said the token expired */
    unsigned fetches;
    /* web identity */
    char *token_file, *role_arn, *session_name, *sts_url;
    /* container */
    char *container_url, *auth_token, *auth_token_file;
    /* imds */
    char *imds_url;
    es_http_opts http;
    char *ca_file;
    void (*on_secret)(void *arg, const char *secret);
    void *on_secret_arg;
};

void
s3_creds_clear(s3_creds *c)
{
    if (!c)
        return;
    if (c->secret_key)
        memset(c->secret_key, 0, strlen(c->secret_key));
    if (c->token)
        memset(c->token, 0, strlen(c->token));
    free(c->access_key);
    free(c->secret_key);
    free(c->token);
    memset(c, 0, sizeof *c);
}

static int
copy_creds(s3_creds *dst, const s3_creds *src_)
{
    memset(dst, 0, sizeof *dst);
    dst->access_key = src_->access_key ? strdup(src_->access_key) : NULL;
    dst->secret_key = src_->secret_key ? strdup(src_->secret_key) : NULL;
    dst->token = src_->token ? strdup(src_->token) : NULL;
    dst->expiration = src_->expiration;
    if (!dst->access_key || !dst->secret_key || (src_->token && !dst->token)) {
        s3_creds_clear(dst);
        return -1;
    }
    return 0;
}

static const char *
env(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

static void
announce(s3_credprov *p, const s3_creds *c)
{
    if (!p->on_secret)
        return;
    if (c->secret_key)
        p->on_secret(p->on_secret_arg, c->secret_key);
    if (c->token)
        p->on_secret(p->on_secret_arg, c->token);
}

static int
set_static(s3_credprov *p, const char *ak, const char *sk, const char *tok)
{
    p->cur.access_key = strdup(ak);
    p->cur.secret_key = strdup(sk);
    p->cur.token = tok && *tok ? strdup(tok) : NULL;
    p->source = SRC_STATIC;
    if (!p->cur.access_key || !p->cur.secret_key || (tok && *tok && !p->cur.token))
        return -1;
    announce(p, &p->cur);
    return 0;
}

/* ------------------------------------------------------------ ini files */
static char *
trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Reads aws_access_key_id / aws_secret_access_key / aws_session_token of
 * section `section` of an ini file.  0 found keys, 1 no such section or
 * file, -1 error. */
static int
ini_read(const char *path, const char *section, char **ak, char **sk, char **tok)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int in = 0, seen = 0;

    if (!f)
        return 1;
    while (fgets(line, sizeof line, f)) {
        char *l = trim(line), *eq;
        if (!*l || *l == '#' || *l == ';')
            continue;
        if (*l == '[') {
            char *end = strchr(l, ']');
            if (end)
                *end = '\0';
            in = strcmp(trim(l + 1), section) == 0;
            seen |= in;
            continue;
        }
        if (!in || !(eq = strchr(l, '=')))
            continue;
        *eq = '\0';
        {
            char *k = trim(l), *v = trim(eq + 1), **dst = NULL;
            if (strcasecmp(k, "aws_access_key_id") == 0)
                dst = ak;
            else if (strcasecmp(k, "aws_secret_access_key") == 0)
                dst = sk;
            else if (strcasecmp(k, "aws_session_token") == 0)
                dst = tok;
            if (dst && !*dst)
                *dst = strdup(v);
        }
    }
    fclose(f);
    return seen ? 0 : 1;
}

static int
from_files(s3_credprov *p, const char *profile)
{
    const char *home = getenv("HOME");
    char credpath[1024], cfgpath[1024], section[300];
    char *ak = NULL, *sk = NULL, *tok = NULL;
    int rc = 1;

    if (env("AWS_SHARED_CREDENTIALS_FILE"))
        s3_fmt(credpath, sizeof credpath, "%s", env("AWS_SHARED_CREDENTIALS_FILE"));
    else
        s3_fmt(credpath, sizeof credpath, "%s/.aws/credentials", home ? home : "");
    if (env("AWS_CONFIG_FILE"))
        s3_fmt(cfgpath, sizeof cfgpath, "%s", env("AWS_CONFIG_FILE"));
    else
        s3_fmt(cfgpath, sizeof cfgpath, "%s/.aws/config", home ? home : "");

    ini_read(credpath, profile, &ak, &sk, &tok);
    if (!(ak && sk)) {
        /* config file: [default] or [profile name] */
        if (strcmp(profile, "default") == 0)
            s3_fmt(section, sizeof section, "default");
        else
            s3_fmt(section, sizeof section, "profile %s", profile);
        ini_read(cfgpath, section, &ak, &sk, &tok);
    }
    if (ak && sk && *ak && *sk) {
        if (set_static(p, ak, sk, tok) == 0) {
            s3_fmt(p->source_name, sizeof p->source_name, "shared files (profile %s)", profile);
            rc = 0;
        } else {
            rc = -1;
        }
    }
    if (sk)
        memset(sk, 0, strlen(sk));
    if (tok)
        memset(tok, 0, strlen(tok));
    free(ak);
    free(sk);
    free(tok);
    return rc;
}

/* ------------------------------------------------------------ fetching */
static char *
read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    es_buf b = ES_BUF_INIT;
    char tmp[4096];
    size_t n;

    if (!f) {
        s3_fmt(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    b.max = 1u << 20;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (es_buf_append(&b, tmp, n) < 0)
            break;
    fclose(f);
    if (!b.data) {
        s3_fmt(err, errlen, "%s is empty", path);
        return NULL;
    }
    while (b.len && isspace((unsigned char)b.data[b.len - 1]))
        b.data[--b.len] = '\0';
    return es_buf_detach(&b, NULL);
}

typedef struct hdrs {
    const char *names[4];
    const char *values[4];
    int n;
} hdrs;

static int
add_hdrs(void *arg, struct curl_slist **list)
{
    hdrs *h = arg;
    int i;

    for (i = 0; i < h->n; i++)
        if (es_http_header_add(list, h->names[i], h->values[i]) < 0)
            return -1;
    return 0;
}

/* one plain HTTP call for a credential endpoint; status + body */
static envsync_status
http_call(s3_credprov *p, const char *method, const char *url, hdrs *h,
          const void *body, size_t body_len, es_http_response *resp, const char *what,
          char *err, size_t errlen)
{
    es_http_client *c = es_http_client_new(&p->http);
    es_http_request req;
    es_http_result r;

    if (!c) {
        s3_fmt(err, errlen, "out of memory");
        return ENVSYNC_ERR_OTHER;
    }
    memset(&req, 0, sizeof req);
    req.method = method;
    req.url = url;
    req.body = body;
    req.body_len = body_len;
    req.prepare = add_hdrs;
    req.prepare_arg = h;
    r = es_http_perform(c, &req, resp);
    es_http_client_free(c);
    if (r != ES_HTTP_OK) {
        s3_fmt(err, errlen, "%s %s: %s: %s", what, url, es_http_result_str(r), resp->error);
        return r == ES_HTTP_ERR_TIMEOUT ? ENVSYNC_ERR_TIMEOUT : ENVSYNC_ERR_CONNECT;
    }
    if (resp->status < 200 || resp->status >= 300) {
        char code[96] = "", msg[256] = "";
        if (resp->body.len)
            s3_xml_error(resp->body.data, resp->body.len, code, sizeof code, msg, sizeof msg);
        s3_fmt(err, errlen, "%s %s: HTTP %ld%s%s%s%s", what, url, resp->status,
                 *code ? " " : "", code, *msg ? ": " : "", msg);
        return resp->status == 401 || resp->status == 403 || resp->status == 400
                   ? ENVSYNC_ERR_AUTH : ENVSYNC_ERR_CONNECT;
    }
    return ENVSYNC_OK;
}

static int
json_creds(const char *body, size_t len, s3_creds *out)
{
    json_error_t je;
    json_t *j = json_loadb(body, len, 0, &je);
    const char *ak, *sk, *tok, *exp;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!j)
        return -1;
    ak = json_string_value(json_object_get(j, "AccessKeyId"));
    sk = json_string_value(json_object_get(j, "SecretAccessKey"));
    tok = json_string_value(json_object_get(j, "Token"));
    if (!tok)
        tok = json_string_value(json_object_get(j, "SessionToken"));
    exp = json_string_value(json_object_get(j, "Expiration"));
    if (ak && sk && *ak && *sk) {
        out->access_key = strdup(ak);
        out->secret_key = strdup(sk);
        out->token = tok && *tok ? strdup(tok) : NULL;
        out->expiration = exp ? (time_t)s3_parse_iso8601(exp) : 0;
        if (out->expiration < 0)
            out->expiration = 0;
        rc = out->access_key && out->secret_key ? 0 : -1;
    }
    json_decref(j);
    if (rc)
        s3_creds_clear(out);
    return rc;
}

static envsync_status
fetch_web_identity(s3_credprov *p, s3_creds *out, char *err, size_t errlen)
{
    char *tok = read_file(p->token_file, err, errlen);
    es_buf body = ES_BUF_INIT;
    es_http_response resp;
    hdrs h = { { "Content-Type", "Accept" },
               { "application/x-www-form-urlencoded; charset=utf-8", "application/xml" }, 2 };
    envsync_status st;

    if (!tok)
        return ENVSYNC_ERR_AUTH;
    if (p->on_secret)
        p->on_secret(p->on_secret_arg, tok);
    es_buf_puts(&body, "Action=AssumeRoleWithWebIdentity&RoleArn=");
    es_sigv4_uri_encode(&body, p->role_arn, strlen(p->role_arn), 0);
    es_buf_puts(&body, "&RoleSessionName=");
    es_sigv4_uri_encode(&body, p->session_name, strlen(p->session_name), 0);
    es_buf_puts(&body, "&Version=2011-06-15&WebIdentityToken=");
    es_sigv4_uri_encode(&body, tok, strlen(tok), 0);
    memset(tok, 0, strlen(tok));
    free(tok);
    if (!body.data)
        return ENVSYNC_ERR_OTHER;
    es_http_response_init(&resp);
    st = http_call(p, "POST", p->sts_url, &h, body.data, body.len, &resp,
                   "AssumeRoleWithWebIdentity", err, errlen);
    memset(body.data, 0, body.len);
    es_buf_free(&body);
    if (st == ENVSYNC_OK && s3_xml_sts_creds(resp.body.data, resp.body.len, out) != 0) {
        s3_fmt(err, errlen, "AssumeRoleWithWebIdentity %s: no credentials in the response",
                 p->sts_url);
        st = ENVSYNC_ERR_AUTH;
    }
    es_http_response_free(&resp);
    return st;
}

static envsync_status
fetch_container(s3_credprov *p, s3_creds *out, char *err, size_t errlen)
{
    char *tok = NULL;
    hdrs h = { { "Accept" }, { "application/json" }, 1 };
    es_http_response resp;
    envsync_status st;

    if (p->auth_token_file) {
        tok = read_file(p->auth_token_file, err, errlen);
        if (!tok)
            return ENVSYNC_ERR_AUTH;
    } else if (p->auth_token) {
        tok = strdup(p->auth_token);
    }
    if (tok) {
        if (p->on_secret)
            p->on_secret(p->on_secret_arg, tok);
        h.names[h.n] = "Authorization";
        h.values[h.n++] = tok;
    }
    es_http_response_init(&resp);
    st = http_call(p, "GET", p->container_url, &h, NULL, 0, &resp, "container credentials",
                   err, errlen);
    if (st == ENVSYNC_OK && json_creds(resp.body.data, resp.body.len, out) != 0) {
        s3_fmt(err, errlen, "container credentials %s: no credentials in the response",
                 p->container_url);
        st = ENVSYNC_ERR_AUTH;
    }
    es_http_response_free(&resp);
    if (tok) {
        memset(tok, 0, strlen(tok));
        free(tok);
    }
    return st;
}

static envsync_status
fetch_imds(s3_credprov *p, s3_creds *out, char *err, size_t errlen)
{
    es_buf url = ES_BUF_INIT;
    es_http_response resp;
    hdrs h = { { "X-aws-ec2-metadata-token-ttl-seconds" }, { "21600" }, 1 };
    char *token = NULL, *role = NULL;
    envsync_status st;

    es_http_response_init(&resp);
    es_buf_printf(&url, "%s/latest/api/token", p->imds_url);
    st = http_call(p, "PUT", url.data, &h, NULL, 0, &resp, "IMDSv2 token", err, errlen);
    if (st != ENVSYNC_OK)
        goto out;
    token = resp.body.data ? strdup(resp.body.data) : NULL;
    if (!token || !*token) {
        s3_fmt(err, errlen, "IMDSv2 token %s: empty answer", url.data);
        st = ENVSYNC_ERR_AUTH;
        goto out;
    }
    if (p->on_secret)
        p->on_secret(p->on_secret_arg, token);
    h.names[0] = "X-aws-ec2-metadata-token";
    h.values[0] = token;
    es_buf_reset(&url);
    es_buf_printf(&url, "%s/latest/meta-data/iam/security-credentials/", p->imds_url);
    st = http_call(p, "GET", url.data, &h, NULL, 0, &resp, "IMDS role", err, errlen);
    if (st != ENVSYNC_OK)
        goto out;
    role = resp.body.data ? strndup(resp.body.data, strcspn(resp.body.data, "\r\n")) : NULL;
    if (!role || !*role) {
        s3_fmt(err, errlen, "IMDS %s: no instance role attached", url.data);
        st = ENVSYNC_ERR_AUTH;
        goto out;
    }
    es_buf_reset(&url);
    es_buf_printf(&url, "%s/latest/meta-data/iam/security-credentials/%s", p->imds_url, role);
    st = http_call(p, "GET", url.data, &h, NULL, 0, &resp, "IMDS credentials", err, errlen);
    if (st == ENVSYNC_OK && json_creds(resp.body.data, resp.body.len, out) != 0) {
        s3_fmt(err, errlen, "IMDS %s: no credentials in the response", url.data);
        st = ENVSYNC_ERR_AUTH;
    }
out:
    es_http_response_free(&resp);
    es_buf_free(&url);
    free(role);
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    return st;
}

static envsync_status
fetch(s3_credprov *p, s3_creds *out, char *err, size_t errlen)
{
    switch (p->source) {
    case SRC_WEB_IDENTITY: return fetch_web_identity(p, out, err, errlen);
    case SRC_CONTAINER: return fetch_container(p, out, err, errlen);
    case SRC_IMDS: return fetch_imds(p, out, err, errlen);
    case SRC_STATIC: break;
    }
    s3_fmt(err, errlen, "no credential source");
    return ENVSYNC_ERR_AUTH;
}

/* ------------------------------------------------------------ public */
static char *
strip_slash(const char *s)
{
    char *r = strdup(s);
    size_t n;

    if (!r)
        return NULL;
    n = strlen(r);
    while (n && r[n - 1] == '/')
        r[--n] = '\0';
    return r;
}

s3_credprov *
s3_credprov_new(const s3_credcfg *cfg, envsync_status *st, char *err, size_t errlen)
{
    s3_credprov *p = calloc(1, sizeof *p);
    const char *profile, *v;
    int rc;

    *st = ENVSYNC_ERR_OTHER;
    if (!p) {
        s3_fmt(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->on_secret = cfg->on_secret;
    p->on_secret_arg = cfg->on_secret_arg;
    p->http.timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 30000;
    p->http.connect_timeout_ms = 5000;
    p->http.retries = 3;
    p->http.verify_tls = cfg->verify_tls;
    p->http.max_body = 1u << 20;
    if (cfg->ca_file) {
        p->ca_file = strdup(cfg->ca_file);
        p->http.ca_file = p->ca_file;
    }

    /* 1. explicit */
    if (cfg->access_key && *cfg->access_key && cfg->secret_key && *cfg->secret_key) {
        if (set_static(p, cfg->access_key, cfg->secret_key, cfg->token) != 0)
            goto oom;
        s3_fmt(p->source_name, sizeof p->source_name, "configuration");
        goto ok;
    }
    /* 2. environment */
    if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
        if (set_static(p, env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"),
                       env("AWS_SESSION_TOKEN")) != 0)
            goto oom;
        s3_fmt(p->source_name, sizeof p->source_name, "environment");
        goto ok;
    }
    /* 3. shared files */
    profile = cfg->profile && *cfg->profile ? cfg->profile
              : env("AWS_PROFILE") ? env("AWS_PROFILE") : "default";
    rc = from_files(p, profile);
    if (rc < 0)
        goto oom;
    if (rc == 0)
        goto ok;
    if (cfg->profile && *cfg->profile) {
        s3_fmt(err, errlen, "profile '%s' has no aws_access_key_id/aws_secret_access_key in "
                 "the shared credentials or config file", cfg->profile);
        *st = ENVSYNC_ERR_AUTH;
        goto fail;
    }
    /* 4. web identity */
    if (env("AWS_WEB_IDENTITY_TOKEN_FILE") && env("AWS_ROLE_ARN")) {
        char def[256];
        p->source = SRC_WEB_IDENTITY;
        p->token_file = strdup(env("AWS_WEB_IDENTITY_TOKEN_FILE"));
        p->role_arn = strdup(env("AWS_ROLE_ARN"));
        p->session_name = strdup(env("AWS_ROLE_SESSION_NAME") ? env("AWS_ROLE_SESSION_NAME")
                                                              : "envsync");
        v = cfg->sts_endpoint && *cfg->sts_endpoint ? cfg->sts_endpoint
            : env("AWS_ENDPOINT_URL_STS") ? env("AWS_ENDPOINT_URL_STS")
            : env("AWS_STS_ENDPOINT") ? env("AWS_STS_ENDPOINT") : NULL;
        if (!v) {
            s3_fmt(def, sizeof def, "https://sts.%s.amazonaws.com/",
                     cfg->region ? cfg->region : "us-east-1");
            v = def;
        }
        p->sts_url = strdup(v);
        if (!p->token_file || !p->role_arn || !p->session_name || !p->sts_url)
            goto oom;
        s3_fmt(p->source_name, sizeof p->source_name, "web identity (%s)", p->role_arn);
        goto ok;
    }
    /* 5. container endpoint */
    if (env("AWS_CONTAINER_CREDENTIALS_FULL_URI") || env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
        es_buf u = ES_BUF_INIT;
        p->source = SRC_CONTAINER;
        if (env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
            es_buf_printf(&u, "http://169.254.170.2%s", env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
        else
            es_buf_puts(&u, env("AWS_CONTAINER_CREDENTIALS_FULL_URI"));
        p->container_url = es_buf_detach(&u, NULL);
        if (env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
            p->auth_token_file = strdup(env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
        else if (env("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
            p->auth_token = strdup(env("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
        if (p->auth_token && p->on_secret)
            p->on_secret(p->on_secret_arg, p->auth_token);
        s3_fmt(p->source_name, sizeof p->source_name, "container endpoint");
        goto ok;
    }
    /* 6. IMDSv2 */
    v = env("AWS_EC2_METADATA_DISABLED");
    if (v && strcasecmp(v, "true") == 0) {
        s3_fmt(err, errlen, "no credentials found (options, environment, shared files, web "
                 "identity, container endpoint; instance metadata disabled)");
        *st = ENVSYNC_ERR_AUTH;
        goto fail;
    }
    v = cfg->imds_endpoint && *cfg->imds_endpoint ? cfg->imds_endpoint
        : env("AWS_EC2_METADATA_SERVICE_ENDPOINT") ? env("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        : "http://169.254.169.254";
    p->source = SRC_IMDS;
    p->imds_url = strip_slash(v);
    if (!p->imds_url)
        goto oom;
    /* IMDS is the last resort: do not hang long where there is none */
    p->http.connect_timeout_ms = 1000;
    p->http.timeout_ms = 5000;
    p->http.retries = 1;
    s3_fmt(p->source_name, sizeof p->source_name, "instance metadata (%s)", p->imds_url);
ok:
    *st = ENVSYNC_OK;
    return p;
oom:
    s3_fmt(err, errlen, "out of memory");
fail:
    s3_credprov_free(p);
    return NULL;
}

void
s3_credprov_free(s3_credprov *p)
{
    if (!p)
        return;
    s3_creds_clear(&p->cur);
    free(p->token_file);
    free(p->role_arn);
    free(p->session_name);
    free(p->sts_url);
    free(p->container_url);
    if (p->auth_token)
        memset(p->auth_token, 0, strlen(p->auth_token));
    free(p->auth_token);
    free(p->auth_token_file);
    free(p->imds_url);
    free(p->ca_file);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

const char *
s3_credprov_source(const s3_credprov *p)
{
    return p->source_name;
}

int
s3_credprov_invalidate(s3_credprov *p)
{
    int r;

    pthread_mutex_lock(&p->lock);
    r = p->source != SRC_STATIC;
    if (r)
        p->force = 1;
    pthread_mutex_unlock(&p->lock);
    return r;
}

unsigned
s3_credprov_fetches(const s3_credprov *p)
{
    return p->fetches;
}

static int
needs_refresh(const s3_credprov *p, time_t now)
{
    time_t life, margin;

    if (p->source == SRC_STATIC)
        return 0;
    if (!p->cur.access_key || p->force)
        return 1;
    if (!p->cur.expiration)
        return 0;
    life = p->cur.expiration - p->fetched_at;
    margin = life / 2 < 300 ? life / 2 : 300;
    return now >= p->cur.expiration - margin;
}

envsync_status
s3_credprov_get(s3_credprov *p, s3_creds *out, char *err, size_t errlen)
{
    envsync_status st = ENVSYNC_OK;
    time_t now = time(NULL);

    pthread_mutex_lock(&p->lock);
    if (needs_refresh(p, now)) {
        s3_creds fresh;
        char ferr[S3_ERRLEN];
        memset(&fresh, 0, sizeof fresh);
        st = fetch(p, &fresh, ferr, sizeof ferr);
        if (st == ENVSYNC_OK) {
            announce(p, &fresh);
            s3_creds_clear(&p->cur);
            p->cur = fresh;
            p->fetched_at = now;
            p->fetches++;
            p->force = 0;
        } else if (p->cur.access_key && (!p->cur.expiration || now < p->cur.expiration)) {
            st = ENVSYNC_OK;   /* keep the still-valid credentials, retry later */
        } else {
            s3_fmt(err, errlen, "credentials from %s: %s", p->source_name, ferr);
            /* an unreachable IMDS means "no credentials anywhere" */
            if ((st != ENVSYNC_ERR_TIMEOUT && st != ENVSYNC_ERR_CONNECT) ||
                p->source == SRC_IMDS)
                st = ENVSYNC_ERR_AUTH;
        }
    }
    if (st == ENVSYNC_OK && copy_creds(out, &p->cur) != 0) {
        s3_fmt(err, errlen, "out of memory");
        st = ENVSYNC_ERR_OTHER;
    }
    pthread_mutex_unlock(&p->lock);
    return st;
}
