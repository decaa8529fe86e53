/* fuzz_common: set-up shared by the fuzz targets (see fuzz.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "md_log.h"
#include "md_util.h"
#include "md_store_fs.h"
#include "fuzz.h"

static apr_pool_t *root_pool;
static const char *scratch;
static int is_printing;

static int log_level(void *baton, apr_pool_t *p, md_log_level_t level)
{
    (void)baton;
    (void)p;
    (void)level;
    return 1; /* format every message: the arguments are often what the parser took */
}

static void log_print(const char *file, int line, md_log_level_t level, apr_status_t rv,
                      const char *msg, void *baton, apr_pool_t *p)
{
    (void)baton;
    (void)p;
    if (is_printing) {
        fprintf(stderr, "[%s] %s:%d (%d) %s\n", md_log_level_name(level), file, line, rv, msg);
    }
}

static void fuzz_exit(void)
{
    apr_pool_t *p = NULL;

    if (scratch && APR_SUCCESS == apr_pool_create(&p, root_pool)) {
        md_util_rm_recursive(scratch, p);
    }
    apr_terminate(); /* destroys all pools: what is left at exit is a leak */
}

void fuzz_init(void)
{
    if (root_pool) {
        return;
    }
    if (APR_SUCCESS != apr_initialize() || APR_SUCCESS != apr_pool_create(&root_pool, NULL)) {
        fprintf(stderr, "fuzz: apr_initialize() failed\n");
        abort();
    }
    is_printing = getenv("MD_FUZZ_LOG") != NULL;
    md_log_set(log_level, log_print, NULL);
    atexit(fuzz_exit);
}

/* Weak: libFuzzer calls the target's own LLVMFuzzerInitialize() where it has one. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}

apr_pool_t *fuzz_pool(void)
{
    apr_pool_t *p = NULL;

    if (APR_SUCCESS != apr_pool_create(&p, root_pool)) {
        abort();
    }
    return p;
}

const char *fuzz_scratch_dir(const char *name)
{
    const char *parent = getenv("MD_FUZZ_TMP");
    char *tmpl;

    if (!parent || !*parent) {
        parent = (access("/dev/shm", W_OK) == 0) ? "/dev/shm" : "/tmp";
    }
    tmpl = apr_psprintf(root_pool, "%s/md-fuzz-%s-XXXXXX", parent, name);
    if (scratch || !mkdtemp(tmpl)) {
        fprintf(stderr, "fuzz: cannot make a scratch directory %s\n", tmpl);
        abort();
    }
    scratch = tmpl;
    return scratch;
}

fuzz_setup_t *fuzz_setup_store(const char *target, const char *sub)
{
    static fuzz_setup_t setup;
    const char *path;

    fuzz_init();
    setup.target = target;
    setup.pool = fuzz_pool();
    setup.dir = fuzz_scratch_dir(target);
    path = sub ? md_util_path_join(setup.pool, setup.dir, sub) : setup.dir;
    if (APR_SUCCESS != md_store_fs_open(&setup.store, path, setup.pool)) {
        fuzz_setup_failed(&setup);
    }
    return &setup;
}

void fuzz_setup_failed(const fuzz_setup_t *setup)
{
    fprintf(stderr, "fuzz_%s: setup failed in %s\n", setup->target, setup->dir);
    abort();
}

const char *fuzz_str(const uint8_t *data, size_t size, apr_pool_t *p)
{
    return apr_pstrmemdup(p, (const char *)data, size);
}
