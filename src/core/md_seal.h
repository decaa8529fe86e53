/* md_seal: authenticated encryption of stored values with the store key.
 *
 * The file store keeps the keys of live certificates as plain files readable by root only. A
 * store on a shared engine (etcd) has no file permissions, so values that hold a plain private
 * key are sealed there: AES-256-GCM under a key derived (HKDF-SHA256) from the store's 48-byte
 * key in md_store.json, which never leaves the servers. A sealed value is text: base64url of a
 * random 12-byte IV, the ciphertext and the 16-byte tag.
 */
#ifndef md_seal_h
#define md_seal_h

#include <apr_pools.h>

/**
 * Seal 'len' bytes of 'data' with a key derived from 'key' ('klen' bytes, at least 32).
 * *psealed (NUL terminated text) lives in 'p'. APR_EGENERAL when OpenSSL fails (logged).
 */
apr_status_t md_seal(const char **psealed, const void *data, apr_size_t len,
                     const unsigned char *key, apr_size_t klen, apr_pool_t *p);

/**
 * Open a value sealed by md_seal() with the same 'key'. *pdata (NUL terminated, *plen bytes)
 * lives in 'p' and is wiped when 'p' is cleared. APR_EINVAL when 'sealed' is no such value, was
 * altered or was sealed with another key.
 */
apr_status_t md_seal_open(char **pdata, apr_size_t *plen, const char *sealed, apr_size_t slen,
                          const unsigned char *key, apr_size_t klen, apr_pool_t *p);

/**
 * A public fingerprint of 'key' (base64url, in 'p'): servers compare it to find out whether
 * they hold the same store key, without revealing it. NULL when OpenSSL fails.
 */
const char *md_seal_key_id(const unsigned char *key, apr_size_t klen, apr_pool_t *p);

#endif /* md_seal_h */
