/* md_etcd: etcd v3 over its JSON gateway (see md_etcd.h).
 *
 * A call:
 *   1. fails at once with APR_EAGAIN while the cluster counts as down (down_until)
 *   2. POSTs the JSON request to the endpoint that answered last, with the auth token when etcd
 *      auth is configured (got from /v3/auth/authenticate on first need, again when etcd says it
 *      is invalid or expired)
 *   3. an endpoint that does not answer, or answers that it has no leader or timed out, is passed
 *      over for the next; when all were tried the cluster is down for 'down_hold'
 *   4. any other answer is final: etcd's JSON on 200, else its error mapped to an APR code
 * int64 values come as JSON strings from the gateway (proto3 JSON), fields with their default
 * value (0, false, "") are left out of its answers.
 */
#include <pthread.h>
#include <string.h>

#include <apr_base64.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_etcd.h"

#define DEF_DOWN_HOLD  apr_time_from_sec(5)
#define TOKEN_MAX      2048
#define WATCH_LINE_MAX (16 * 1024 * 1024)

/* gRPC status codes etcd's gateway puts into "code" */
#define GRPC_CANCELLED        1
#define GRPC_INVALID_ARGUMENT 3
#define GRPC_DEADLINE         4
#define GRPC_NOT_FOUND        5
#define GRPC_PERMISSION       7
#define GRPC_OUT_OF_RANGE     11
#define GRPC_INTERNAL         13
#define GRPC_UNAVAILABLE      14
#define GRPC_UNAUTHENTICATED  16

struct md_etcd_t {
    md_transport_t *t;
    apr_array_header_t *endpoints; /* const char* */
    const char *endpoints_text;
    const char *user;
    const char *password;
    apr_interval_time_t down_hold;
    pthread_mutex_t mutex; /* guards the fields below */
    int cur;               /* index of the endpoint that answered last */
    apr_time_t down_until; /* calls fail at once until then */
    int is_down;           /* went down (logged) and did not answer since */
    char token[TOKEN_MAX]; /* etcd auth token, "" for none yet */
};

/* What one answer means for the call. */
typedef enum {
    ANSWER_DONE,   /* final: rv says how it went */
    ANSWER_NEXT,   /* this endpoint cannot serve now: try the next */
    ANSWER_REAUTH, /* the token is invalid or expired: get a new one, same endpoint */
} answer_t;

apr_status_t md_etcd_create(md_etcd_t **petcd, const md_etcd_config_t *config,
                            md_transport_t *transport, apr_pool_t *p)
{
    md_etcd_t *etcd;
    int i;

    *petcd = NULL;
    if (!config->endpoints || !config->endpoints->nelts) {
        return APR_EINVAL;
    }
    etcd = apr_pcalloc(p, sizeof(*etcd));
    etcd->t = transport;
    etcd->endpoints = apr_array_make(p, config->endpoints->nelts, sizeof(const char *));
    for (i = 0; i < config->endpoints->nelts; ++i) {
        APR_ARRAY_PUSH(etcd->endpoints, const char *) =
            apr_pstrdup(p, APR_ARRAY_IDX(config->endpoints, i, const char *));
    }
    etcd->endpoints_text = apr_array_pstrcat(p, etcd->endpoints, ',');
    etcd->user = config->user ? apr_pstrdup(p, config->user) : NULL;
    etcd->password = config->password ? apr_pstrdup(p, config->password) : NULL;
    etcd->down_hold = config->down_hold > 0 ? config->down_hold : DEF_DOWN_HOLD;
    pthread_mutex_init(&etcd->mutex, NULL);
    *petcd = etcd;
    return APR_SUCCESS;
}

const char *md_etcd_endpoints(const md_etcd_t *etcd)
{
    return etcd->endpoints_text;
}

int md_etcd_is_up(md_etcd_t *etcd)
{
    int up;

    pthread_mutex_lock(&etcd->mutex);
    up = !etcd->is_down;
    pthread_mutex_unlock(&etcd->mutex);
    return up;
}

/* ---- encoding --------------------------------------------------------------------------------
 */

static const char *b64(const char *data, apr_size_t len, apr_pool_t *p)
{
    char *out = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)len));

    apr_base64_encode(out, data, (int)len);
    return out;
}

/* NUL terminated in 'p'; APR_EINVAL for what is not base64 */
static apr_status_t unb64(const char **pdata, apr_size_t *plen, const char *text, apr_pool_t *p)
{
    const char *c;
    char *out;
    int n;

    *pdata = "";
    *plen = 0;
    if (!text) {
        return APR_SUCCESS;
    }
    for (c = text; *c; ++c) {
        if (!(apr_isalnum(*c) || *c == '+' || *c == '/' || *c == '=')) {
            return APR_EINVAL;
        }
    }
    out = apr_palloc(p, (apr_size_t)apr_base64_decode_len(text) + 1);
    n = apr_base64_decode_binary((unsigned char *)out, text);
    if (n < 0) {
        return APR_EINVAL;
    }
    out[n] = '\0';
    *pdata = out;
    *plen = (apr_size_t)n;
    return APR_SUCCESS;
}

/* The first key after all keys starting with 'prefix' (etcd's range_end for a prefix). */
static const char *prefix_end(const char *prefix, apr_size_t *plen, apr_pool_t *p)
{
    apr_size_t len = strlen(prefix);
    char *end = apr_pstrmemdup(p, prefix, len);

    while (len && (unsigned char)end[len - 1] == 0xff) {
        --len;
    }
    if (!len) {
        *plen = 1;
        return "\0"; /* every key */
    }
    end[len - 1] = (char)((unsigned char)end[len - 1] + 1);
    *plen = len;
    return end;
}

static void set_bytes(md_json_t *json, const char *field, const char *data, apr_size_t len,
                      apr_pool_t *p)
{
    md_json_sets(b64(data, len, p), json, field);
}

static void set_key_range(md_json_t *json, const char *key, int is_prefix, apr_pool_t *p)
{
    const char *end;
    apr_size_t elen;

    set_bytes(json, MD_KEY_ETCD_KEY, key, strlen(key), p);
    if (is_prefix) {
        end = prefix_end(key, &elen, p);
        set_bytes(json, MD_KEY_ETCD_RANGE_END, end, elen, p);
    }
}

/* An int64 of the gateway's JSON: a string, or a number from other encoders. 0 when absent. */
static apr_int64_t get_i64(const md_json_t *json, const char *k1, const char *k2)
{
    const char *s = md_json_gets(json, k1, k2);
    char *end = NULL;
    apr_int64_t n;

    if (!s) {
        return (apr_int64_t)md_json_getn(json, 0.0, k1, k2);
    }
    n = apr_strtoi64(s, &end, 10);
    return (end && !*end) ? n : 0;
}

static const char *i64_text(apr_int64_t n, apr_pool_t *p)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, n);
}

static apr_status_t parse_kv(md_etcd_kv_t **pkv, const md_json_t *j, apr_pool_t *p)
{
    md_etcd_kv_t *kv = apr_pcalloc(p, sizeof(*kv));
    apr_size_t klen = 0;
    apr_status_t rv;

    rv = unb64(&kv->key, &klen, md_json_gets(j, MD_KEY_ETCD_KEY), p);
    if (APR_SUCCESS == rv) {
        rv = unb64(&kv->value, &kv->len, md_json_gets(j, MD_KEY_ETCD_VALUE), p);
    }
    kv->create_rev = get_i64(j, MD_KEY_ETCD_CREATE_REV, NULL);
    kv->mod_rev = get_i64(j, MD_KEY_ETCD_MOD_REV, NULL);
    kv->lease = get_i64(j, MD_KEY_ETCD_LEASE, NULL);
    *pkv = (APR_SUCCESS == rv) ? kv : NULL;
    return rv;
}

static apr_status_t parse_kvs(apr_array_header_t **pkvs, const md_json_t *range, apr_pool_t *p)
{
    apr_array_header_t *items = apr_array_make(p, 10, sizeof(md_json_t *));
    apr_array_header_t *kvs = apr_array_make(p, 10, sizeof(md_etcd_kv_t *));
    md_etcd_kv_t *kv = NULL;
    apr_status_t rv = APR_SUCCESS;
    int i;

    md_json_geta(items, range, MD_KEY_ETCD_KVS);
    for (i = 0; APR_SUCCESS == rv && i < items->nelts; ++i) {
        rv = parse_kv(&kv, APR_ARRAY_IDX(items, i, const md_json_t *), p);
        if (APR_SUCCESS == rv) {
            APR_ARRAY_PUSH(kvs, md_etcd_kv_t *) = kv;
        }
    }
    *pkvs = kvs;
    return rv;
}

/* ---- 1.-4. calls -----------------------------------------------------------------------------
 */

/* Messages of a member that cannot answer now. "transport:" is gRPC's prefix for a broken
 * connection between the gateway and its member (e.g. "missing content-type field" while the
 * member stops), whatever code the gateway puts next to it. */
static int is_unavailable_text(const char *msg)
{
    return msg
           && (strstr(msg, "no leader") || strstr(msg, "timed out") || strstr(msg, "timeout")
               || strstr(msg, "deadline exceeded") || strstr(msg, "unavailable")
               || strstr(msg, "not capable") || strstr(msg, "leader changed")
               || strstr(msg, "too many requests") || strstr(msg, "connection is closing")
               || strstr(msg, "transport: "));
}

/* 4. What etcd's answer means. */
static answer_t judge(apr_status_t *prv, md_json_t **pjson, int status, const char *body,
                      apr_size_t len, const char *url, apr_pool_t *p)
{
    md_json_t *json = NULL;
    const char *msg;
    long code;

    *prv = md_json_readbuf(&json, p, body, len, NULL);
    if (APR_SUCCESS != *prv || !md_json_is_object(json)) {
        if (status == 502 || status == 503 || status == 504) {
            return ANSWER_NEXT;
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      APLOGNO(13101) "etcd: %s answered HTTP %d with what is not etcd's JSON: "
                                     "check that the endpoint is etcd's client URL",
                      url, status);
        *prv = APR_EINVAL;
        return ANSWER_DONE;
    }
    if (status == 200 && !md_json_has_key(json, MD_KEY_ETCD_ERROR)) {
        *pjson = json;
        *prv = APR_SUCCESS;
        return ANSWER_DONE;
    }
    code = md_json_getl(json, MD_KEY_ETCD_CODE);
    msg = md_json_gets(json, MD_KEY_ETCD_MESSAGE);
    if (!msg) {
        msg = md_json_gets(json, MD_KEY_ETCD_ERROR);
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "etcd: %s: HTTP %d, code %ld: %s", url, status,
                  code, msg ? msg : "-");
    /* the gateway's own gRPC connection breaking (a member stopping or starting) is "internal",
     * or "cancelled" with HTTP 408 when the member closes it during a request */
    if (code == GRPC_UNAVAILABLE || code == GRPC_DEADLINE || code == GRPC_INTERNAL
        || code == GRPC_CANCELLED || is_unavailable_text(msg) || status == 503 || status == 504
        || status == 408) {
        return ANSWER_NEXT;
    }
    if (code == GRPC_UNAUTHENTICATED || (msg && strstr(msg, "invalid auth token"))) {
        return ANSWER_REAUTH;
    }
    if (code == GRPC_NOT_FOUND) {
        *prv = APR_ENOENT;
        return ANSWER_DONE;
    }
    if (code == GRPC_OUT_OF_RANGE && msg && strstr(msg, "compacted")) {
        *prv = APR_ENOENT;
        return ANSWER_DONE;
    }
    if (code == GRPC_PERMISSION
        || (msg && (strstr(msg, "user name is empty") || strstr(msg, "authentication failed")))) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EACCES, p,
                      APLOGNO(13102) "etcd: %s refused access: %s. Check MDStoreEtcdAuth (the "
                                     "user, its password file, and the user's role on the "
                                     "store's prefix)",
                      url, msg ? msg : "permission denied");
        *prv = APR_EACCES;
        return ANSWER_DONE;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                  APLOGNO(13103) "etcd: %s refused the request (HTTP %d, code %ld): %s", url,
                  status, code, msg ? msg : "-");
    *prv = (code == GRPC_INVALID_ARGUMENT) ? APR_EINVAL : APR_EGENERAL;
    return ANSWER_DONE;
}

static int check_down(md_etcd_t *etcd)
{
    int down;

    pthread_mutex_lock(&etcd->mutex);
    down = etcd->down_until > apr_time_now();
    pthread_mutex_unlock(&etcd->mutex);
    return down;
}

static void mark_up(md_etcd_t *etcd, int idx, apr_pool_t *p)
{
    int was_down;

    pthread_mutex_lock(&etcd->mutex);
    was_down = etcd->is_down;
    etcd->is_down = 0;
    etcd->down_until = 0;
    etcd->cur = idx;
    pthread_mutex_unlock(&etcd->mutex);
    if (was_down) {
        md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p,
                      APLOGNO(13104) "etcd: %s answers again; the store is back in sync",
                      APR_ARRAY_IDX(etcd->endpoints, idx, const char *));
    }
}

static void mark_down(md_etcd_t *etcd, const char *why, apr_pool_t *p)
{
    int was_down;

    pthread_mutex_lock(&etcd->mutex);
    was_down = etcd->is_down;
    etcd->is_down = 1;
    etcd->down_until = apr_time_now() + etcd->down_hold;
    pthread_mutex_unlock(&etcd->mutex);
    if (!was_down) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_EAGAIN, p,
                      APLOGNO(13105) "etcd: no endpoint of %s can serve now (%s); certificates "
                                     "are served from the local copy, renewals wait and are "
                                     "retried",
                      etcd->endpoints_text, why);
    }
}

static void get_token(char *buf, md_etcd_t *etcd)
{
    pthread_mutex_lock(&etcd->mutex);
    apr_cpystrn(buf, etcd->token, TOKEN_MAX);
    pthread_mutex_unlock(&etcd->mutex);
}

static apr_status_t post_one(md_json_t **pjson, answer_t *panswer, md_etcd_t *etcd, int idx,
                             const char *path, const char *body, apr_pool_t *p)
{
    md_transport_req_t req;
    char token[TOKEN_MAX];
    const char *rbody = NULL;
    apr_size_t rlen = 0;
    int status = 0;
    apr_status_t rv;

    req.url = apr_pstrcat(p, APR_ARRAY_IDX(etcd->endpoints, idx, const char *), path, NULL);
    req.body = body;
    req.len = strlen(body);
    req.headers = NULL;
    get_token(token, etcd);
    if (token[0]) {
        req.headers = apr_table_make(p, 1);
        apr_table_set(req.headers, "Authorization", token);
    }
    rv = etcd->t->post(&status, &rbody, &rlen, etcd->t, &req, p);
    if (APR_SUCCESS != rv) {
        *panswer = ANSWER_NEXT;
        return rv;
    }
    *panswer = judge(&rv, pjson, status, rbody, rlen, req.url, p);
    return rv;
}

static apr_status_t authenticate(md_etcd_t *etcd, int idx, apr_pool_t *p);

/* 2.-4. over the endpoints; 'why' gets the last reason an endpoint could not serve */
static apr_status_t call_endpoints(md_json_t **pjson, md_etcd_t *etcd, const char *path,
                                   const char *body, const char **pwhy, apr_pool_t *p)
{
    int n = etcd->endpoints->nelts, start, i, idx, reauthed = 0;
    answer_t answer = ANSWER_NEXT;
    apr_status_t rv = APR_EAGAIN;
    char token[TOKEN_MAX], buf[128];

    pthread_mutex_lock(&etcd->mutex);
    start = etcd->cur;
    pthread_mutex_unlock(&etcd->mutex);
    for (i = 0; i < n; ++i) {
        idx = (start + i) % n;
        if (etcd->user && !reauthed) {
            get_token(token, etcd);
            rv = token[0] ? APR_SUCCESS : authenticate(etcd, idx, p);
            if (APR_STATUS_IS_EAGAIN(rv)) {
                continue;
            }
            if (APR_SUCCESS != rv) {
                return rv;
            }
        }
        rv = post_one(pjson, &answer, etcd, idx, path, body, p);
        if (answer == ANSWER_REAUTH && etcd->user && !reauthed) {
            reauthed = 1;
            rv = authenticate(etcd, idx, p);
            if (APR_SUCCESS == rv) {
                rv = post_one(pjson, &answer, etcd, idx, path, body, p);
            }
        }
        if (answer == ANSWER_DONE) {
            mark_up(etcd, idx, p);
            return rv;
        }
        if (answer == ANSWER_REAUTH) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EACCES, p,
                          APLOGNO(13106) "etcd: %s wants authentication: configure "
                                         "MDStoreEtcdAuth with a user that may use the store's "
                                         "prefix",
                          APR_ARRAY_IDX(etcd->endpoints, idx, const char *));
            return APR_EACCES;
        }
        *pwhy = APR_SUCCESS != rv ? apr_strerror(rv, buf, sizeof(buf)) : "no leader or timeout";
        *pwhy =
            apr_pstrcat(p, APR_ARRAY_IDX(etcd->endpoints, idx, const char *), ": ", *pwhy, NULL);
    }
    return APR_EAGAIN;
}

static apr_status_t call(md_json_t **pjson, md_etcd_t *etcd, const char *path, const md_json_t *req,
                         apr_pool_t *p)
{
    const char *body, *why = "no answer";
    apr_status_t rv;

    *pjson = NULL;
    /* 1. */
    if (check_down(etcd)) {
        return APR_EAGAIN;
    }
    body = md_json_writep(req, p, MD_JSON_FMT_COMPACT);
    if (!body) {
        return APR_EINVAL;
    }
    rv = call_endpoints(pjson, etcd, path, body, &why, p);
    if (APR_STATUS_IS_EAGAIN(rv)) {
        mark_down(etcd, why, p);
    }
    return rv;
}

/* etcd's user/password auth: a token for the Authorization header of later requests. */
static apr_status_t authenticate(md_etcd_t *etcd, int idx, apr_pool_t *p)
{
    md_json_t *req = md_json_create(p), *json = NULL;
    const char *token;
    answer_t answer = ANSWER_NEXT;
    apr_status_t rv;

    pthread_mutex_lock(&etcd->mutex);
    etcd->token[0] = '\0';
    pthread_mutex_unlock(&etcd->mutex);
    md_json_sets(etcd->user, req, MD_KEY_ETCD_NAME);
    md_json_sets(etcd->password ? etcd->password : "", req, MD_KEY_ETCD_PASSWORD);
    rv = post_one(&json, &answer, etcd, idx, "/v3/auth/authenticate",
                  md_json_writep(req, p, MD_JSON_FMT_COMPACT), p);
    if (answer == ANSWER_NEXT) {
        return APR_EAGAIN;
    }
    if (APR_SUCCESS != rv || answer != ANSWER_DONE) {
        return APR_SUCCESS == rv ? APR_EACCES : rv;
    }
    token = md_json_gets(json, MD_KEY_ETCD_TOKEN);
    if (!token || strlen(token) >= TOKEN_MAX) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EACCES, p,
                      APLOGNO(13107) "etcd: authenticating as %s gave no usable token: is auth "
                                     "enabled on the cluster ('etcdctl auth enable')?",
                      etcd->user);
        return APR_EACCES;
    }
    pthread_mutex_lock(&etcd->mutex);
    apr_cpystrn(etcd->token, token, TOKEN_MAX);
    pthread_mutex_unlock(&etcd->mutex);
    return APR_SUCCESS;
}

/* ---- kv --------------------------------------------------------------------------------------
 */

static apr_status_t range(md_json_t **pjson, md_etcd_t *etcd, const char *key, int is_prefix,
                          int keys_only, apr_pool_t *p)
{
    md_json_t *req = md_json_create(p);

    set_key_range(req, key, is_prefix, p);
    if (keys_only) {
        md_json_setb(1, req, MD_KEY_ETCD_KEYS_ONLY);
    }
    return call(pjson, etcd, "/v3/kv/range", req, p);
}

apr_status_t md_etcd_get(md_etcd_kv_t **pkv, md_etcd_t *etcd, const char *key, int keys_only,
                         apr_pool_t *p)
{
    apr_array_header_t *kvs = NULL;
    md_json_t *json = NULL;
    apr_status_t rv;

    *pkv = NULL;
    rv = range(&json, etcd, key, 0, keys_only, p);
    if (APR_SUCCESS == rv) {
        rv = parse_kvs(&kvs, json, p);
    }
    if (APR_SUCCESS == rv) {
        if (!kvs->nelts) {
            return APR_ENOENT;
        }
        *pkv = APR_ARRAY_IDX(kvs, 0, md_etcd_kv_t *);
    }
    return rv;
}

apr_status_t md_etcd_get_prefix(apr_array_header_t **pkvs, md_etcd_t *etcd, const char *prefix,
                                int keys_only, apr_pool_t *p)
{
    md_json_t *json = NULL;
    apr_status_t rv;

    *pkvs = NULL;
    rv = range(&json, etcd, prefix, 1, keys_only, p);
    if (APR_SUCCESS == rv) {
        rv = parse_kvs(pkvs, json, p);
    }
    return rv;
}

static md_json_t *put_req(const char *key, const char *value, apr_size_t len, apr_int64_t lease,
                          apr_pool_t *p)
{
    md_json_t *req = md_json_create(p);

    set_bytes(req, MD_KEY_ETCD_KEY, key, strlen(key), p);
    set_bytes(req, MD_KEY_ETCD_VALUE, value, len, p);
    if (lease) {
        md_json_sets(i64_text(lease, p), req, MD_KEY_ETCD_LEASE);
    }
    return req;
}

apr_status_t md_etcd_put(apr_int64_t *prevision, md_etcd_t *etcd, const char *key,
                         const char *value, apr_size_t len, apr_int64_t lease, apr_pool_t *p)
{
    md_json_t *json = NULL;
    apr_status_t rv;

    rv = call(&json, etcd, "/v3/kv/put", put_req(key, value, len, lease, p), p);
    if (APR_SUCCESS == rv && prevision) {
        *prevision = get_i64(json, MD_KEY_ETCD_HEADER, MD_KEY_ETCD_REVISION);
    }
    return rv;
}

apr_status_t md_etcd_delete(md_etcd_t *etcd, const char *key, int is_prefix, apr_pool_t *p)
{
    md_json_t *req = md_json_create(p), *json = NULL;

    set_key_range(req, key, is_prefix, p);
    return call(&json, etcd, "/v3/kv/deleterange", req, p);
}

/* ---- transactions ----------------------------------------------------------------------------
 */

struct md_etcd_txn_t {
    apr_pool_t *p;
    md_json_t *req;
    int nops;
};

md_etcd_txn_t *md_etcd_txn_make(apr_pool_t *p)
{
    md_etcd_txn_t *txn = apr_pcalloc(p, sizeof(*txn));

    txn->p = p;
    txn->req = md_json_create(p);
    md_json_setj(md_json_create_array(p), txn->req, MD_KEY_ETCD_COMPARE);
    md_json_setj(md_json_create_array(p), txn->req, MD_KEY_ETCD_SUCCESS);
    md_json_setj(md_json_create_array(p), txn->req, MD_KEY_ETCD_FAILURE);
    return txn;
}

static void add_compare(md_etcd_txn_t *txn, const char *key, const char *target, const char *field,
                        apr_int64_t rev)
{
    md_json_t *cmp = md_json_create(txn->p);

    set_bytes(cmp, MD_KEY_ETCD_KEY, key, strlen(key), txn->p);
    md_json_sets(target, cmp, MD_KEY_ETCD_TARGET);
    md_json_sets(i64_text(rev, txn->p), cmp, field);
    /* "result" left out: EQUAL, the proto default */
    md_json_array_append(md_json_getj(txn->req, MD_KEY_ETCD_COMPARE), cmp);
}

void md_etcd_txn_if_created(md_etcd_txn_t *txn, const char *key, apr_int64_t create_rev)
{
    add_compare(txn, key, "CREATE", MD_KEY_ETCD_CREATE_REV, create_rev);
}

void md_etcd_txn_if_modified(md_etcd_txn_t *txn, const char *key, apr_int64_t mod_rev)
{
    add_compare(txn, key, "MOD", MD_KEY_ETCD_MOD_REV, mod_rev);
}

static void add_op(md_etcd_txn_t *txn, const char *branch, const char *kind, md_json_t *op)
{
    md_json_t *wrap = md_json_create(txn->p);

    md_json_setj(op, wrap, kind);
    md_json_array_append(md_json_getj(txn->req, branch), wrap);
    txn->nops++;
}

void md_etcd_txn_put(md_etcd_txn_t *txn, const char *key, const char *value, apr_size_t len,
                     apr_int64_t lease)
{
    add_op(txn, MD_KEY_ETCD_SUCCESS, MD_KEY_ETCD_REQ_PUT, put_req(key, value, len, lease, txn->p));
}

void md_etcd_txn_delete(md_etcd_txn_t *txn, const char *key, int is_prefix)
{
    md_json_t *op = md_json_create(txn->p);

    set_key_range(op, key, is_prefix, txn->p);
    add_op(txn, MD_KEY_ETCD_SUCCESS, MD_KEY_ETCD_REQ_DELETE, op);
}

void md_etcd_txn_else_get(md_etcd_txn_t *txn, const char *key)
{
    md_json_t *op = md_json_create(txn->p);

    set_key_range(op, key, 0, txn->p);
    add_op(txn, MD_KEY_ETCD_FAILURE, MD_KEY_ETCD_REQ_RANGE, op);
}

int md_etcd_txn_ops(const md_etcd_txn_t *txn)
{
    return txn->nops;
}

apr_status_t md_etcd_txn_commit(int *psucceeded, apr_int64_t *prevision, md_etcd_kv_t **pelse,
                                md_etcd_t *etcd, md_etcd_txn_t *txn, apr_pool_t *p)
{
    apr_array_header_t *resps = apr_array_make(p, 5, sizeof(md_json_t *));
    apr_array_header_t *kvs = NULL;
    md_json_t *json = NULL, *range_resp;
    apr_status_t rv;

    *psucceeded = 0;
    if (pelse) {
        *pelse = NULL;
    }
    rv = call(&json, etcd, "/v3/kv/txn", txn->req, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    *psucceeded = md_json_getb(json, MD_KEY_ETCD_SUCCEEDED);
    if (prevision) {
        *prevision = get_i64(json, MD_KEY_ETCD_HEADER, MD_KEY_ETCD_REVISION);
    }
    if (*psucceeded || !pelse) {
        return APR_SUCCESS;
    }
    md_json_geta(resps, json, MD_KEY_ETCD_RESPONSES);
    if (!resps->nelts) {
        return APR_SUCCESS;
    }
    range_resp = md_json_getj(APR_ARRAY_IDX(resps, 0, md_json_t *), MD_KEY_ETCD_RESP_RANGE);
    if (!range_resp) {
        return APR_SUCCESS;
    }
    rv = parse_kvs(&kvs, range_resp, p);
    if (APR_SUCCESS == rv && kvs->nelts) {
        *pelse = APR_ARRAY_IDX(kvs, 0, md_etcd_kv_t *);
    }
    return rv;
}

/* ---- leases ----------------------------------------------------------------------------------
 */

static md_json_t *lease_req(apr_int64_t id, apr_pool_t *p)
{
    md_json_t *req = md_json_create(p);

    md_json_sets(i64_text(id, p), req, MD_KEY_ETCD_ID);
    return req;
}

apr_status_t md_etcd_lease_grant(apr_int64_t *pid, md_etcd_t *etcd, apr_interval_time_t ttl,
                                 apr_pool_t *p)
{
    md_json_t *req = md_json_create(p), *json = NULL;
    apr_int64_t secs = apr_time_sec(ttl);
    apr_status_t rv;

    *pid = 0;
    md_json_sets(i64_text(secs < 2 ? 2 : secs, p), req, MD_KEY_ETCD_TTL);
    rv = call(&json, etcd, "/v3/lease/grant", req, p);
    if (APR_SUCCESS == rv) {
        *pid = get_i64(json, MD_KEY_ETCD_ID, NULL);
        if (!*pid) {
            return APR_EINVAL;
        }
    }
    return rv;
}

apr_status_t md_etcd_lease_keepalive(apr_interval_time_t *pttl, md_etcd_t *etcd, apr_int64_t id,
                                     apr_pool_t *p)
{
    md_json_t *json = NULL;
    apr_status_t rv;

    *pttl = 0;
    /* a stream in gRPC: the gateway answers one request with one {"result": ...} */
    rv = call(&json, etcd, "/v3/lease/keepalive", lease_req(id, p), p);
    if (APR_SUCCESS == rv) {
        *pttl = apr_time_from_sec(get_i64(json, MD_KEY_ETCD_RESULT, MD_KEY_ETCD_TTL));
    }
    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}

apr_status_t md_etcd_lease_revoke(md_etcd_t *etcd, apr_int64_t id, apr_pool_t *p)
{
    md_json_t *json = NULL;
    apr_status_t rv;

    rv = call(&json, etcd, "/v3/lease/revoke", lease_req(id, p), p);
    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}

/* ---- watches ---------------------------------------------------------------------------------
 * The gateway streams one JSON object per line: {"result": {"header", "created", "events",
 * "canceled", "compact_revision"}} or {"error": ...}. */

typedef struct {
    md_etcd_watch_cb *cb;
    void *baton;
    apr_pool_t *p;
    apr_pool_t *ptemp; /* cleared after each line */
    char *line;
    apr_size_t len, cap;
    apr_int64_t last; /* revision of the last change delivered */
    apr_status_t rv;  /* why the stream ended, APR_SUCCESS when the callback ended it */
    int is_stopped;
} watch_ctx_t;

static int watch_event(watch_ctx_t *ctx, const md_json_t *ev)
{
    md_etcd_kv_t *kv = NULL;
    const char *type = md_json_gets(ev, MD_KEY_ETCD_TYPE);

    if (APR_SUCCESS != parse_kv(&kv, md_json_getj(ev, MD_KEY_ETCD_KV), ctx->ptemp)) {
        return 1;
    }
    if (kv->mod_rev > ctx->last) {
        ctx->last = kv->mod_rev;
    }
    return ctx->cb(ctx->baton, kv, type && strcmp(type, "DELETE") == 0, ctx->ptemp);
}

/* One line of the stream; 0 ends the watch. */
static int watch_line(watch_ctx_t *ctx, const char *data, apr_size_t len)
{
    apr_array_header_t *events = apr_array_make(ctx->ptemp, 10, sizeof(md_json_t *));
    md_json_t *json = NULL, *result;
    int i;

    if (APR_SUCCESS != md_json_readbuf(&json, ctx->ptemp, data, len, NULL)) {
        return 1; /* an empty line between objects */
    }
    result = md_json_getj(json, MD_KEY_ETCD_RESULT);
    if (!result) {
        ctx->rv = APR_EAGAIN;
        return 0;
    }
    if (md_json_getb(result, MD_KEY_ETCD_CANCELED)) {
        ctx->rv = get_i64(result, MD_KEY_ETCD_COMPACT_REV, NULL) ? APR_ENOENT : APR_EAGAIN;
        return 0;
    }
    md_json_geta(events, result, MD_KEY_ETCD_EVENTS);
    for (i = 0; i < events->nelts; ++i) {
        if (!watch_event(ctx, APR_ARRAY_IDX(events, i, const md_json_t *))) {
            ctx->is_stopped = 1;
            return 0;
        }
    }
    return 1;
}

static int watch_data(void *baton, const char *data, apr_size_t len)
{
    watch_ctx_t *ctx = baton;
    const char *nl;
    apr_size_t n;
    int go_on = 1;

    if (!data) {
        go_on = ctx->cb(ctx->baton, NULL, 0, ctx->ptemp);
        ctx->is_stopped = !go_on;
        return go_on;
    }
    while (go_on && len) {
        nl = memchr(data, '\n', len);
        n = nl ? (apr_size_t)(nl - data) + 1 : len;
        if (ctx->len + n > WATCH_LINE_MAX) {
            ctx->rv = APR_EAGAIN; /* start over from the last revision */
            return 0;
        }
        if (ctx->len + n > ctx->cap) {
            char *nbuf;

            ctx->cap = 2 * (ctx->len + n);
            nbuf = apr_palloc(ctx->p, ctx->cap);
            if (ctx->len) { /* the first line has no buffer yet (memcpy from NULL is UB) */
                memcpy(nbuf, ctx->line, ctx->len);
            }
            ctx->line = nbuf;
        }
        memcpy(ctx->line + ctx->len, data, n);
        ctx->len += n;
        data += n;
        len -= n;
        if (nl) {
            go_on = watch_line(ctx, ctx->line, ctx->len);
            ctx->len = 0;
            apr_pool_clear(ctx->ptemp);
        }
    }
    return go_on;
}

apr_status_t md_etcd_watch(apr_int64_t *plast, md_etcd_t *etcd, const char *prefix,
                           apr_int64_t start_rev, md_etcd_watch_cb *cb, void *baton, apr_pool_t *p)
{
    md_json_t *wreq = md_json_create(p), *create = md_json_create(p);
    watch_ctx_t ctx;
    md_transport_req_t req;
    char token[TOKEN_MAX];
    int status = 0, idx;
    apr_status_t rv;

    if (check_down(etcd)) {
        return APR_EAGAIN;
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.cb = cb;
    ctx.baton = baton;
    ctx.p = p;
    ctx.last = *plast;
    ctx.rv = APR_EAGAIN; /* the server ending the stream: reconnect */
    rv = apr_pool_create(&ctx.ptemp, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    set_key_range(create, prefix, 1, p);
    if (start_rev > 0) {
        md_json_sets(i64_text(start_rev, p), create, MD_KEY_ETCD_START_REV);
    }
    md_json_setj(create, wreq, MD_KEY_ETCD_CREATE_REQ);
    pthread_mutex_lock(&etcd->mutex);
    idx = etcd->cur;
    pthread_mutex_unlock(&etcd->mutex);
    req.url = apr_pstrcat(p, APR_ARRAY_IDX(etcd->endpoints, idx, const char *), "/v3/watch", NULL);
    req.body = md_json_writep(wreq, p, MD_JSON_FMT_COMPACT);
    req.len = strlen(req.body);
    req.headers = NULL;
    get_token(token, etcd);
    if (token[0]) {
        req.headers = apr_table_make(p, 1);
        apr_table_set(req.headers, "Authorization", token);
    }
    rv = etcd->t->post_stream(&status, etcd->t, &req, watch_data, &ctx, p);
    *plast = ctx.last;
    apr_pool_destroy(ctx.ptemp);
    if (ctx.is_stopped) {
        return APR_SUCCESS;
    }
    if (APR_SUCCESS != rv || status != 200) {
        /* another endpoint next time */
        pthread_mutex_lock(&etcd->mutex);
        if (etcd->cur == idx) {
            etcd->cur = (idx + 1) % etcd->endpoints->nelts;
        }
        pthread_mutex_unlock(&etcd->mutex);
        return APR_EAGAIN;
    }
    return ctx.rv;
}
