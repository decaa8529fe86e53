/* fuzz: what the libFuzzer targets in test/fuzz/ share (see docs/robustness.md).
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput() and feeds its input to one parser of
 * untrusted input. fuzz_init() sets up APR and OpenSSL once; fuzz_pool() gives a fresh pool per
 * input that the caller destroys (so the leak checker sees what a parser leaks outside pools).
 * A target that needs nothing more at start defines no LLVMFuzzerInitialize(): fuzz_common.c's
 * weak one calls fuzz_init(). A target working on a file store starts with fuzz_setup_store().
 *
 * Network input comes from a scripted HTTP client (fuzz_http.c), linked instead of
 * src/http/md_http.c: the real ACME and OCSP client code runs, and each request it makes gets the
 * next response of the script the fuzzer wrote. apr_sleep() is replaced by one that returns at
 * once, so polls and Retry-After waits cost nothing.
 */
#ifndef fuzz_h
#define fuzz_h

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>

#include "md_store.h"

/* libFuzzer's entry points (declared here for -Wmissing-prototypes). Set-up belongs in
 * LLVMFuzzerInitialize(): what it allocates would look like a leak of the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Set up APR and the md logging once (apr_terminate() at exit). Messages at all levels are
 * formatted (that is parsed input too) and dropped, unless MD_FUZZ_LOG is set in the environment.
 */
void fuzz_init(void);

/** What fuzz_setup_store() sets up once for a target working on a file store. */
typedef struct fuzz_setup_t {
    const char *target; /* the target's name, "acme" for fuzz_acme: messages say it */
    apr_pool_t *pool;   /* for the target's set-up objects: lives until exit */
    const char *dir;    /* the target's scratch directory (fuzz_scratch_dir()) */
    md_store_t *store;  /* a file store in 'dir', or in its subdirectory given at set-up */
} fuzz_setup_t;

/**
 * fuzz_init(), a set-up pool, a scratch directory named after 'target' and a file store in it,
 * or in its subdirectory 'sub' when that is not NULL. Aborts with a message when that fails.
 * Returns a static object: call it once, from LLVMFuzzerInitialize().
 */
fuzz_setup_t *fuzz_setup_store(const char *target, const char *sub);

/** For the rest of a target's set-up: says "fuzz_<target>: setup failed in <dir>" and aborts. */
__attribute__((noreturn)) void fuzz_setup_failed(const fuzz_setup_t *setup);

/** A new pool for one input; destroy it at the end of the input. */
apr_pool_t *fuzz_pool(void);

/**
 * A scratch directory for a target's store, removed at exit: under $MD_FUZZ_TMP, else /dev/shm
 * (a tmpfs: the store's fsync() calls cost nothing there), else /tmp. In the root pool.
 */
const char *fuzz_scratch_dir(const char *name);

/** The input as a NUL terminated string in 'p' (input NULs end it early). */
const char *fuzz_str(const uint8_t *data, size_t size, apr_pool_t *p);

/**
 * The script of responses that md_http_get/head/post/post_stream answer with, in order, from
 * 'data' ('size' bytes; not copied: keep it until the input is done). Responses are separated by
 * a line "%%". Each is a status line ("200"), header lines ("Name: value"), an empty line and
 * the body. Once the script is used up, requests fail with APR_ECONNREFUSED as if the server
 * had gone. A response without a Replay-Nonce header gets one (so that fuzzing reaches past
 * the nonce).
 */
void fuzz_http_script(const uint8_t *data, size_t size);

/** How many requests were made since the last fuzz_http_script() */
int fuzz_http_requests(void);

#endif /* fuzz_h */
