/*
 * xml.c - S3 / STS response parsing with libxml2.
 *
 * Responses are untrusted: parsed with XML_PARSE_NONET and without entity
 * substitution or DTD loading, elements matched by local name (S3 answers
 * with and without the 2006-03-01 namespace depending on the server).
 */
#define _GNU_SOURCE
#include "s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

static void
silent(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* libxml2 reports some errors (bad encodings) through its generic handler
 * whatever the parse options: silence it around our parse only (the
 * handler is per thread), so a hostile server cannot spam the log */
static xmlDocPtr
parse(const char *body, size_t len)
{
    xmlGenericErrorFunc old = xmlGenericError;
    void *oldctx = xmlGenericErrorContext;
    xmlDocPtr doc;

    if (!body || !len || len > (size_t)0x7fffffff)
        return NULL;
    xmlSetGenericErrorFunc(NULL, silent);
    doc = xmlReadMemory(body, (int)len, "s3.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlSetGenericErrorFunc(oldctx, old);
    return doc;
}

static int
named(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, (const xmlChar *)name) == 0;
}

static xmlNodePtr
find(xmlNodePtr n, const char *name)
{
    for (; n; n = n->next) {
        xmlNodePtr r;
        if (named(n, name))
            return n;
        if (n->type == XML_ELEMENT_NODE && (r = find(n->children, name)))
            return r;
    }
    return NULL;
}

static xmlNodePtr
child(xmlNodePtr n, const char *name)
{
    for (n = n ? n->children : NULL; n; n = n->next)
        if (named(n, name))
            return n;
    return NULL;
}

static char *
text(xmlNodePtr n)
{
    xmlChar *c;
    char *r;

    if (!n)
        return NULL;
    c = xmlNodeGetContent(n);
    if (!c)
        return NULL;
    r = strdup((const char *)c);
    xmlFree(c);
    return r;
}

static void
copy_text(xmlNodePtr n, char *out, size_t cap)
{
    char *t = text(n);

    if (!cap)
        return;
    out[0] = '\0';
    if (t) {
        s3_fmt(out, cap, "%s", t);
        free(t);
    }
}

int
s3_xml_error(const char *body, size_t len, char *code, size_t codecap, char *msg, size_t msgcap)
{
    xmlDocPtr doc = parse(body, len);
    xmlNodePtr root;
    int rc = -1;

    if (codecap)
        code[0] = '\0';
    if (msgcap)
        msg[0] = '\0';
    if (!doc)
        return -1;
    root = xmlDocGetRootElement(doc);
    if (named(root, "Error")) {
        copy_text(child(root, "Code"), code, codecap);
        copy_text(child(root, "Message"), msg, msgcap);
        rc = 0;
    } else if (named(root, "ErrorResponse")) {   /* STS */
        xmlNodePtr e = child(root, "Error");
        copy_text(child(e, "Code"), code, codecap);
        copy_text(child(e, "Message"), msg, msgcap);
        rc = 0;
    }
    xmlFreeDoc(doc);
    return rc;
}

char *
s3_xml_find(const char *body, size_t len, const char *name)
{
    xmlDocPtr doc = parse(body, len);
    char *r;

    if (!doc)
        return NULL;
    r = text(find(xmlDocGetRootElement(doc), name));
    xmlFreeDoc(doc);
    return r;
}

int64_t
s3_parse_iso8601(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, n = 0;
    time_t t;
    const char *p;

    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    p = s + n;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if ((*p == '+' || *p == '-') && strlen(p) >= 3) {
        int oh = 0, om = 0;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) >= 1) {
            long off = oh * 3600L + om * 60L;
            t -= *p == '+' ? off : -off;
        }
    }
    return (int64_t)t;
}

int
s3_xml_list(const char *body, size_t len, s3_list_item_fn fn, void *arg, envsync_status *cbst,
            int *truncated, char **next)
{
    xmlDocPtr doc = parse(body, len);
    xmlNodePtr root, n;
    char *t;

    *cbst = ENVSYNC_OK;
    *truncated = 0;
    *next = NULL;
    if (!doc)
        return -1;
    root = xmlDocGetRootElement(doc);
    if (!named(root, "ListBucketResult")) {
        xmlFreeDoc(doc);
        return -1;
    }
    for (n = root->children; n; n = n->next) {
        char *key, *size, *mod;
        if (!named(n, "Contents"))
            continue;
        key = text(child(n, "Key"));
        size = text(child(n, "Size"));
        mod = text(child(n, "LastModified"));
        if (key) {
            int64_t mt = mod ? s3_parse_iso8601(mod) : -1;
            *cbst = fn(arg, key, size ? strtoull(size, NULL, 10) : 0, mt);
        }
        free(key);
        free(size);
        free(mod);
        if (*cbst != ENVSYNC_OK)
            break;
    }
    t = text(child(root, "IsTruncated"));
    *truncated = t && strcmp(t, "true") == 0;
    free(t);
    *next = text(child(root, "NextContinuationToken"));
    xmlFreeDoc(doc);
    return 0;
}

int
s3_xml_sts_creds(const char *body, size_t len, s3_creds *out)
{
    xmlDocPtr doc = parse(body, len);
    xmlNodePtr c;
    char *exp;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!doc)
        return -1;
    c = find(xmlDocGetRootElement(doc), "Credentials");
    if (c) {
        out->access_key = text(child(c, "AccessKeyId"));
        out->secret_key = text(child(c, "SecretAccessKey"));
        out->token = text(child(c, "SessionToken"));
        exp = text(child(c, "Expiration"));
        out->expiration = exp ? (time_t)s3_parse_iso8601(exp) : 0;
        free(exp);
        if (out->access_key && out->secret_key && *out->access_key && *out->secret_key)
            rc = 0;
    }
    if (rc != 0)
        s3_creds_clear(out);
    xmlFreeDoc(doc);
    return rc;
}
