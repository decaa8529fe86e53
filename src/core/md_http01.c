/* md_http01: http-01 request matching (see md_http01.h). */
#include <string.h>

#include "md_util.h"
#include "md_http01.h"

int md_http01_is_challenge_path(const char *path)
{
    return path && !strncmp(path, MD_HTTP01_PATH_PREFIX, sizeof(MD_HTTP01_PATH_PREFIX) - 1);
}

static int is_token(const char *s)
{
    apr_size_t n = 0;

    for (; *s; ++s, ++n) {
        if (n >= MD_HTTP01_TOKEN_MAX
            || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
                 || *s == '-' || *s == '_')) {
            return 0;
        }
    }
    return n > 0;
}

apr_status_t md_http01_parse(const char **ptoken, const char **phost, const char *path,
                             const char *hostname, apr_pool_t *p)
{
    const char *token, *host;

    *ptoken = NULL;
    *phost = NULL;
    if (!md_http01_is_challenge_path(path)) {
        return APR_ENOENT;
    }
    token = path + sizeof(MD_HTTP01_PATH_PREFIX) - 1;
    if (!is_token(token) || !hostname) {
        return APR_EINVAL;
    }
    host = md_util_str_tolower(hostname, p);
    if (!md_util_is_dns_name(host, 0, 1) && !md_util_is_ip(host)) {
        return APR_EINVAL;
    }
    *ptoken = token;
    *phost = host;
    return APR_SUCCESS;
}

int md_http01_answer_fits(const char *answer, const char *token)
{
    apr_size_t tlen = strlen(token);

    return answer && tlen && !strncmp(answer, token, tlen) && answer[tlen] == '.';
}
