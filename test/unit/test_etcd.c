/* test_etcd: what of the etcd store can be tested without etcd (the store itself is tested
 * against a real cluster in test/integration/test_670_etcd_fleet.py):
 *   - md_seal: sealed values open with the same key only, and not when altered
 *   - the client (md_etcd.c) on a scripted transport: base64 and JSON on the wire, going to the
 *     next endpoint, the cluster counting as down, authentication and its renewal
 *   - endpoint lists as MDStoreEtcd and a2md --etcd take them
 *   - md_store_copy between two file stores: byte for byte
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_json.h"
#include "md_seal.h"
#include "md_util.h"
#include "md_etcd.h"
#include "md_store_copy.h"
#include "md_store_fs.h"
#include "md_store_open.h"
#include "unit.h"

/* ---- md_seal ---------------------------------------------------------------------------------
 */

static const unsigned char key1[48] = "0123456789abcdef0123456789abcdef0123456789abcde";
static const unsigned char key2[48] = "fedcba9876543210fedcba9876543210fedcba987654321";

START_TEST(seal_round_trip)
{
    const char *sealed = NULL, *text = "-----BEGIN PRIVATE KEY-----\nsecret\n";
    char *out = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(APR_SUCCESS,
                     md_seal(&sealed, text, strlen(text), key1, sizeof(key1), unit_pool));
    ck_assert_ptr_null(strstr(sealed, "secret"));
    ck_assert_int_eq(APR_SUCCESS, md_seal_open(&out, &len, sealed, strlen(sealed), key1,
                                               sizeof(key1), unit_pool));
    ck_assert_uint_eq(strlen(text), len);
    ck_assert_str_eq(text, out);
}
END_TEST

START_TEST(seal_refuses_other_key_and_changes)
{
    const char *sealed = NULL, *text = "the value";
    char *out = NULL, *changed;
    apr_size_t len = 0;

    ck_assert_int_eq(APR_SUCCESS,
                     md_seal(&sealed, text, strlen(text), key1, sizeof(key1), unit_pool));
    ck_assert_int_eq(APR_EINVAL, md_seal_open(&out, &len, sealed, strlen(sealed), key2,
                                              sizeof(key2), unit_pool));
    changed = apr_pstrdup(unit_pool, sealed);
    changed[20] = (changed[20] == 'A') ? 'B' : 'A';
    ck_assert_int_eq(APR_EINVAL, md_seal_open(&out, &len, changed, strlen(changed), key1,
                                              sizeof(key1), unit_pool));
    ck_assert_int_eq(APR_EINVAL,
                     md_seal_open(&out, &len, "short", 5, key1, sizeof(key1), unit_pool));
    /* the fingerprint tells the keys apart without showing them */
    ck_assert_str_eq(md_seal_key_id(key1, sizeof(key1), unit_pool),
                     md_seal_key_id(key1, sizeof(key1), unit_pool));
    ck_assert_str_ne(md_seal_key_id(key1, sizeof(key1), unit_pool),
                     md_seal_key_id(key2, sizeof(key2), unit_pool));
}
END_TEST

/* ---- a scripted transport --------------------------------------------------------------------
 */

typedef struct {
    md_transport_t t;
    int calls;
    const char *urls[16]; /* what was asked, in order */
    const char *bodies[16];
    const char *auth[16];    /* the Authorization header sent */
    int fail_below;          /* requests to endpoints with a port below this fail to connect */
    const char *answers[16]; /* the bodies to answer in order ("" repeats the last), status 200
                              * unless it starts with "<status> " */
} script_t;

static apr_status_t script_post(int *pstatus, const char **pbody, apr_size_t *plen,
                                md_transport_t *t, const md_transport_req_t *req, apr_pool_t *p)
{
    script_t *s = (script_t *)t;
    const char *port = strrchr(req->url + 7, ':'), *answer;
    int i = s->calls < 16 ? s->calls : 15;

    s->urls[i] = apr_pstrdup(unit_pool, req->url);
    s->bodies[i] = apr_pstrdup(unit_pool, req->body);
    s->auth[i] =
        req->headers ? apr_pstrdup(unit_pool, apr_table_get(req->headers, "Authorization")) : NULL;
    s->calls++;
    if (port && atoi(port + 1) < s->fail_below) {
        return APR_ECONNREFUSED;
    }
    answer = s->answers[0];
    memmove(s->answers, s->answers + 1, 15 * sizeof(s->answers[0]));
    if (!answer) {
        answer = "{}";
    }
    *pstatus = 200;
    if (answer[0] >= '1' && answer[0] <= '5' && answer[3] == ' ') {
        *pstatus = atoi(answer);
        answer += 4;
    }
    *pbody = apr_pstrdup(p, answer);
    *plen = strlen(answer);
    return APR_SUCCESS;
}

static md_etcd_t *make_client(script_t *s, const char *endpoints, const char *user)
{
    md_etcd_config_t conf;
    md_etcd_t *etcd = NULL;
    const char *err = NULL;

    memset(s, 0, sizeof(*s));
    s->t.post = script_post;
    memset(&conf, 0, sizeof(conf));
    ck_assert_int_eq(APR_SUCCESS,
                     md_store_etcd_parse_endpoints(&conf.endpoints, endpoints, &err, unit_pool));
    conf.user = user;
    conf.password = user ? "pw" : NULL;
    conf.down_hold = apr_time_from_sec(60);
    ck_assert_int_eq(APR_SUCCESS, md_etcd_create(&etcd, &conf, &s->t, unit_pool));
    return etcd;
}

START_TEST(etcd_get_decodes)
{
    script_t s;
    md_etcd_t *etcd = make_client(&s, "127.0.0.1:2379", NULL);
    md_etcd_kv_t *kv = NULL;

    /* "/a" and "hello", as etcd's gateway sends them */
    s.answers[0] = "{\"header\":{\"revision\":\"7\"},\"kvs\":[{\"key\":\"L2E=\","
                   "\"create_revision\":\"3\",\"mod_revision\":\"7\",\"value\":\"aGVsbG8=\"}],"
                   "\"count\":\"1\"}";
    ck_assert_int_eq(APR_SUCCESS, md_etcd_get(&kv, etcd, "/a", 0, unit_pool));
    ck_assert_str_eq("/a", kv->key);
    ck_assert_str_eq("hello", kv->value);
    ck_assert_int_eq(3, (int)kv->create_rev);
    ck_assert_int_eq(7, (int)kv->mod_rev);
    ck_assert_str_eq("http://127.0.0.1:2379/v3/kv/range", s.urls[0]);
    ck_assert_ptr_nonnull(strstr(s.bodies[0], "\"key\":\"L2E=\""));
    s.answers[0] = "{\"header\":{\"revision\":\"7\"}}";
    ck_assert_int_eq(APR_ENOENT, md_etcd_get(&kv, etcd, "/a", 0, unit_pool));
    /* not etcd's JSON */
    s.answers[0] = "<html>";
    ck_assert_int_eq(APR_EINVAL, md_etcd_get(&kv, etcd, "/a", 0, unit_pool));
}
END_TEST

START_TEST(etcd_txn_request)
{
    script_t s;
    md_etcd_t *etcd = make_client(&s, "127.0.0.1:2379", NULL);
    md_etcd_txn_t *txn = md_etcd_txn_make(unit_pool);
    md_etcd_kv_t *other = NULL;
    md_json_t *req = NULL;
    apr_int64_t rev = 0;
    int ok = 1;

    md_etcd_txn_if_created(txn, "/l", 0);
    md_etcd_txn_put(txn, "/l", "me", 2, 42);
    md_etcd_txn_else_get(txn, "/l");
    /* the comparison failed: the holder's key comes in the range response */
    s.answers[0] = "{\"header\":{\"revision\":\"9\"},\"responses\":[{\"response_range\":{"
                   "\"kvs\":[{\"key\":\"L2w=\",\"value\":\"b3RoZXI=\",\"lease\":\"5\"}]}}]}";
    ck_assert_int_eq(APR_SUCCESS, md_etcd_txn_commit(&ok, &rev, &other, etcd, txn, unit_pool));
    ck_assert_int_eq(0, ok);
    ck_assert_int_eq(9, (int)rev);
    ck_assert_str_eq("other", other->value);
    ck_assert_int_eq(5, (int)other->lease);
    ck_assert_int_eq(APR_SUCCESS,
                     md_json_readbuf(&req, unit_pool, s.bodies[0], strlen(s.bodies[0]), NULL));
    ck_assert_ptr_nonnull(strstr(s.bodies[0], "\"target\":\"CREATE\""));
    ck_assert_ptr_nonnull(strstr(s.bodies[0], "\"create_revision\":\"0\""));
    ck_assert_ptr_nonnull(strstr(s.bodies[0], "\"request_put\":{\"key\":\"L2w=\","
                                              "\"value\":\"bWU=\",\"lease\":\"42\"}"));
    ck_assert_ptr_nonnull(strstr(s.bodies[0], "\"failure\":[{\"request_range\""));
    s.answers[0] = "{\"header\":{\"revision\":\"10\"},\"succeeded\":true}";
    ck_assert_int_eq(APR_SUCCESS, md_etcd_txn_commit(&ok, &rev, &other, etcd, txn, unit_pool));
    ck_assert_int_eq(1, ok);
}
END_TEST

START_TEST(etcd_next_endpoint_then_down)
{
    script_t s;
    md_etcd_t *etcd = make_client(&s, "127.0.0.1:1001,http://127.0.0.1:2002", NULL);
    md_etcd_kv_t *kv = NULL;

    s.fail_below = 2000;
    s.answers[0] = "{\"kvs\":[{\"key\":\"L2E=\",\"value\":\"eA==\"}]}";
    ck_assert_int_eq(APR_SUCCESS, md_etcd_get(&kv, etcd, "/a", 0, unit_pool));
    ck_assert_int_eq(2, s.calls);
    ck_assert_ptr_nonnull(strstr(s.urls[1], ":2002/"));
    /* the one that answered is asked first next time */
    s.answers[0] = "{\"kvs\":[{\"key\":\"L2E=\",\"value\":\"eA==\"}]}";
    ck_assert_int_eq(APR_SUCCESS, md_etcd_get(&kv, etcd, "/a", 0, unit_pool));
    ck_assert_int_eq(3, s.calls);
    /* no leader there either: the cluster is down, and is not asked again for a while */
    s.answers[0] = "503 {\"error\":\"etcdserver: no leader\",\"code\":14}";
    ck_assert_int_eq(APR_EAGAIN, md_etcd_get(&kv, etcd, "/a", 0, unit_pool));
    ck_assert_int_eq(5, s.calls);
    ck_assert_int_eq(0, md_etcd_is_up(etcd));
    ck_assert_int_eq(APR_EAGAIN, md_etcd_get(&kv, etcd, "/a", 0, unit_pool));
    ck_assert_int_eq(5, s.calls);
}
END_TEST

START_TEST(etcd_member_going_away_is_not_a_refusal)
{
    /* what the gateway answers while its member stops: not reachable now, so the next
     * endpoint is asked (a refusal would end the request with an error) */
    static const char *const going[] = {
        "500 {\"error\":\"OK: HTTP status code 200; transport: missing content-type field\","
        "\"code\":2}",
        "408 {\"error\":\"grpc: the client connection is closing\",\"code\":1}",
    };
    script_t s;
    md_etcd_t *etcd;
    md_etcd_kv_t *kv = NULL;
    size_t i;

    for (i = 0; i < sizeof(going) / sizeof(going[0]); ++i) {
        etcd = make_client(&s, "127.0.0.1:2001,127.0.0.1:2002", NULL);
        s.answers[0] = going[i];
        s.answers[1] = "{\"kvs\":[{\"key\":\"L2E=\",\"value\":\"eA==\"}]}";
        ck_assert_int_eq(APR_SUCCESS, md_etcd_get(&kv, etcd, "/a", 0, unit_pool));
        ck_assert_int_eq(2, s.calls);
        ck_assert_ptr_nonnull(strstr(s.urls[1], ":2002/"));
    }
    /* a refusal stays one */
    etcd = make_client(&s, "127.0.0.1:2001,127.0.0.1:2002", NULL);
    s.answers[0] = "400 {\"error\":\"etcdserver: permission denied\",\"code\":7}";
    ck_assert_int_ne(APR_SUCCESS, md_etcd_get(&kv, etcd, "/a", 0, unit_pool));
    ck_assert_int_eq(1, s.calls);
}
END_TEST

START_TEST(etcd_authenticates_and_renews_token)
{
    script_t s;
    md_etcd_t *etcd = make_client(&s, "127.0.0.1:2379", "apache");
    md_etcd_kv_t *kv = NULL;

    s.answers[0] = "{\"token\":\"T1\"}";
    s.answers[1] = "{\"kvs\":[{\"key\":\"L2E=\",\"value\":\"eA==\"}]}";
    s.answers[2] = "401 {\"error\":\"etcdserver: invalid auth token\",\"code\":16}";
    s.answers[3] = "{\"token\":\"T2\"}";
    s.answers[4] = "{\"kvs\":[{\"key\":\"L2E=\",\"value\":\"eA==\"}]}";
    s.answers[5] = "400 {\"error\":\"etcdserver: permission denied\",\"code\":7}";
    ck_assert_int_eq(APR_SUCCESS, md_etcd_get(&kv, etcd, "/a", 0, unit_pool));
    ck_assert_ptr_nonnull(strstr(s.urls[0], "/v3/auth/authenticate"));
    ck_assert_ptr_nonnull(strstr(s.bodies[0], "\"name\":\"apache\""));
    ck_assert_str_eq("T1", s.auth[1]);
    /* an expired token: a new one, and the request again */
    ck_assert_int_eq(APR_SUCCESS, md_etcd_get(&kv, etcd, "/a", 0, unit_pool));
    ck_assert_ptr_nonnull(strstr(s.urls[3], "/v3/auth/authenticate"));
    ck_assert_str_eq("T2", s.auth[4]);
    ck_assert_int_eq(APR_EACCES, md_etcd_get(&kv, etcd, "/a", 0, unit_pool));
}
END_TEST

/* ---- endpoints -------------------------------------------------------------------------------
 */

static const struct {
    const char *text;
    const char *first; /* NULL: refused */
    int n;
} endpoint_cases[] = {
    { "10.0.0.1:2379", "http://10.0.0.1:2379", 1 },
    { "https://etcd1.example:2379,https://etcd2.example:2379", "https://etcd1.example:2379", 2 },
    { "http://etcd", "http://etcd:2379", 1 },
    { "https://[::1]:2379", "https://[::1]:2379", 1 },
    { "ftp://etcd:2379", NULL, 0 },
    { "http://etcd:2379/v3", NULL, 0 },
    { "", NULL, 0 },
};

START_TEST(endpoints_parse)
{
    apr_array_header_t *eps = NULL;
    const char *err = NULL;
    apr_status_t rv;

    rv = md_store_etcd_parse_endpoints(&eps, endpoint_cases[_i].text, &err, unit_pool);
    if (!endpoint_cases[_i].first) {
        ck_assert_int_eq(APR_EINVAL, rv);
        ck_assert_ptr_nonnull(err);
        return;
    }
    ck_assert_int_eq(APR_SUCCESS, rv);
    ck_assert_int_eq(endpoint_cases[_i].n, eps->nelts);
    ck_assert_str_eq(endpoint_cases[_i].first, APR_ARRAY_IDX(eps, 0, const char *));
}
END_TEST

/* ---- md_store_copy ---------------------------------------------------------------------------
 */

static const char *read_all(const char *path)
{
    char *data = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(APR_SUCCESS, md_util_file_read(&data, &len, path, 1024 * 1024, unit_pool));
    return data;
}

START_TEST(copy_is_byte_for_byte)
{
    const char *d1 = unit_tmpdir(), *d2 = unit_tmpdir();
    static const char *const files[] = { "fallback-privkey.pem", "domains/a.example/privkey.pem",
                                         "domains/a.example/md.json",
                                         "accounts/ACME-x-0000/account.pem",
                                         "staging/a.example/privkey.pem" };
    md_store_t *s1 = NULL, *s2 = NULL;
    md_store_copy_stats_t stats;
    md_json_t *json = md_json_create(unit_pool);
    md_pkey_t *pkey = unit_key("P-256");
    size_t i;

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&s1, d1, unit_pool));
    md_json_sets("a.example", json, "name");
    ck_assert_int_eq(APR_SUCCESS, md_store_save(s1, MD_SG_NONE, NULL, MD_FN_FALLBACK_PKEY,
                                                MD_SV_PKEY, pkey, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_save(s1, MD_SG_DOMAINS, "a.example", MD_FN_PRIVKEY,
                                                MD_SV_PKEY, pkey, unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_store_save_json(s1, MD_SG_DOMAINS, "a.example", MD_FN_MD, json, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_save(s1, MD_SG_ACCOUNTS, "ACME-x-0000", MD_FN_ACCT_KEY,
                                                MD_SV_PKEY, pkey, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_save(s1, MD_SG_STAGING, "a.example", MD_FN_PRIVKEY,
                                                MD_SV_PKEY, pkey, unit_pool));
    /* the same key in both stores, as a2md migrate needs it */
    ck_assert_int_eq(APR_SUCCESS,
                     md_util_file_write_atomic(
                         apr_pstrcat(unit_pool, d2, "/md_store.json", NULL),
                         read_all(apr_pstrcat(unit_pool, d1, "/md_store.json", NULL)),
                         strlen(read_all(apr_pstrcat(unit_pool, d1, "/md_store.json", NULL))), 0600,
                         unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&s2, d2, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_copy(&stats, s2, s1, unit_pool));
    ck_assert_int_eq(5, stats.values);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); ++i) {
        ck_assert_str_eq(read_all(apr_pstrcat(unit_pool, d1, "/", files[i], NULL)),
                         read_all(apr_pstrcat(unit_pool, d2, "/", files[i], NULL)));
    }
}
END_TEST

Suite *suite_etcd(void)
{
    Suite *s = suite_create("etcd");
    TCase *tc = unit_tcase("etcd");

    tcase_add_test(tc, seal_round_trip);
    tcase_add_test(tc, seal_refuses_other_key_and_changes);
    tcase_add_test(tc, etcd_get_decodes);
    tcase_add_test(tc, etcd_txn_request);
    tcase_add_test(tc, etcd_next_endpoint_then_down);
    tcase_add_test(tc, etcd_member_going_away_is_not_a_refusal);
    tcase_add_test(tc, etcd_authenticates_and_renews_token);
    tcase_add_loop_test(tc, endpoints_parse, 0,
                        (int)(sizeof(endpoint_cases) / sizeof(endpoint_cases[0])));
    tcase_add_test(tc, copy_is_byte_for_byte);
    suite_add_tcase(s, tc);
    return s;
}
