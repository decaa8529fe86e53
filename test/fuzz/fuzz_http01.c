/* fuzz_http01: the http-01 request matching (md_http01.c) that decides which requests the server
 * answers from the store. The input is the request's path, a NUL, its Host, a NUL and a stored
 * answer.
 *
 * What is accepted must be safe to use: the host becomes a directory name in the store
 * (challenges/<host>/), the token is compared with the answer; neither may hold '/', "..", '%' or
 * NUL, the token is at most MD_HTTP01_TOKEN_MAX long, and an answer fits only the token it starts
 * with. A violation aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md_util.h"
#include "md_http01.h"
#include "fuzz.h"

static void must(int ok, const char *what, const char *path, const char *host)
{
    if (!ok) {
        fprintf(stderr, "fuzz_http01: %s: path '%s', host '%s'\n", what, path, host);
        abort();
    }
}

/* the next NUL-terminated piece of [*ps, end), in 'p' */
static const char *piece(const char **ps, const char *end, apr_pool_t *p)
{
    const char *s = *ps, *nul = memchr(s, 0, (apr_size_t)(end - s));
    const char *e = nul ? nul : end;

    *ps = nul ? nul + 1 : end;
    return fuzz_str((const uint8_t *)s, (apr_size_t)(e - s), p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *s = (const char *)data, *end = s + size;
    const char *path = piece(&s, end, p), *hostname = piece(&s, end, p);
    const char *answer = piece(&s, end, p), *token = NULL, *host = NULL;
    apr_status_t rv;

    rv = md_http01_parse(&token, &host, path, *hostname ? hostname : NULL, p);
    must(md_http01_is_challenge_path(path) == !APR_STATUS_IS_ENOENT(rv), "prefix", path, hostname);
    if (APR_SUCCESS == rv) {
        must(token && host, "no token or host", path, hostname);
        must(*token && strlen(token) <= MD_HTTP01_TOKEN_MAX, "token length", path, hostname);
        must(!strpbrk(token, "/.%\\ ") && !strpbrk(host, "/%\\ ") && !strstr(host, "..")
                 && *host != '.',
             "token or host unfit for the store", path, hostname);
        must(md_util_is_dns_name(host, 0, 1) || md_util_is_ip(host), "host", path, hostname);
        if (md_http01_answer_fits(answer, token)) {
            must(!strncmp(answer, token, strlen(token)) && answer[strlen(token)] == '.',
                 "an answer for another token fits", path, hostname);
        }
    }
    else {
        must(!token && !host, "results on failure", path, hostname);
    }
    apr_pool_destroy(p);
    return 0;
}
