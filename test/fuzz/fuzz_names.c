/* fuzz_names: domain and IP name validation, as names arrive from the configuration
 * (MDomain, ServerName/ServerAlias), the store (md.json) and the network (Host of a request, SNI
 * of a tls-alpn-01 handshake, ACME identifiers): md_util_is_dns_name, md_util_is_ip,
 * md_util_ip_canonical and md_util_ip_from_arpa.
 *
 * A valid DNS name is used as a directory name in the store (challenges/<name>/): it must never
 * hold '/', "..", or anything but letters, digits, '-', '.' and a leading "*.". A canonical IP
 * is an IP again and canonical once more; the address of a reverse name is an IP.
 * A violation aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md_util.h"
#include "fuzz.h"

static void must(int ok, const char *what, const char *s)
{
    if (!ok) {
        fprintf(stderr, "fuzz_names: %s: '%s'\n", what, s);
        abort();
    }
}

static void check_dns(const char *s)
{
    const char *c = s;
    int wild = md_util_is_dns_name(s, 1, 1);

    if (!wild) {
        must(!md_util_is_dns_name(s, 0, 1) && !md_util_is_dns_name(s, 1, 0)
                 && !md_util_is_dns_name(s, 0, 0),
             "a stricter check passes what the laxest refuses", s);
        return;
    }
    must(strlen(s) <= 255 && !strstr(s, "..") && s[0] != '.', "DNS name unfit for a path", s);
    if (c[0] == '*' && c[1] == '.') {
        c += 2;
    }
    for (; *c; ++c) {
        must((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
                 || *c == '-' || *c == '.',
             "DNS name with a character out of place", s);
    }
    must(!md_util_is_ip(s), "a name that is both DNS name and IP", s);
}

static void check_ip(const char *s, apr_pool_t *p)
{
    const char *canon, *again, *addr;

    if (md_util_is_ip(s)) {
        canon = md_util_ip_canonical(s, p);
        must(canon && md_util_is_ip(canon), "canonical IP is no IP", s);
        again = md_util_ip_canonical(canon, p);
        must(!strcmp(canon, again), "canonical IP not stable", s);
    }
    addr = md_util_ip_from_arpa(s, p);
    if (addr) {
        must(md_util_is_ip(addr), "reverse name gives no IP", s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *s = fuzz_str(data, size, p);

    check_dns(s);
    check_ip(s, p);
    md_util_str_tolower(s, p);
    apr_pool_destroy(p);
    return 0;
}
