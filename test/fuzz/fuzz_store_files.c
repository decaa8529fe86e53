/* fuzz_store_files: store files read through the file store itself. With an even first input
 * byte the rest is md_store.json (version, encryption key, layout upgrades of the stock module's
 * older stores), opened read-only and read-write; with an odd one it is staging/a.test/job.json,
 * which md_job_restore() takes when a server starts (errors so far, next run, rate limits).
 * Each input gets fresh files in a scratch directory.
 */
#include <stdio.h>
#include <stdlib.h>

#include <apr_strings.h>

#include "md.h"
#include "md_util.h"
#include "md_store_fs.h"
#include "md_job.h"
#include "fuzz.h"

static fuzz_setup_t *setup; /* its store is for job.json, in <dir>/s */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup = fuzz_setup_store("store_files", "s");
    return 0;
}

static void store_json(const uint8_t *data, size_t size, apr_pool_t *p)
{
    const char *dir = md_util_path_join(p, setup->dir, "m");
    md_store_t *s = NULL;

    md_util_rm_recursive(dir, p);
    md_util_dir_make(dir, 0700, p);
    if (APR_SUCCESS
        != md_util_file_write_atomic(md_util_path_join(p, dir, "md_store.json"), data, size, 0600,
                                     p)) {
        abort();
    }
    md_store_fs_open_readonly(&s, dir, p);
    md_store_fs_open(&s, dir, p);
}

static void job_json(const uint8_t *data, size_t size, apr_pool_t *p)
{
    const char *dir = md_util_path_join(p, setup->dir, "s", "staging", "a.test");
    apr_time_t next = 0;
    int errors = 0;

    md_util_rm_recursive(md_util_path_join(p, setup->dir, "s", "staging"), p);
    md_util_dir_make(dir, 0700, p);
    if (APR_SUCCESS
        != md_util_file_write_atomic(md_util_path_join(p, dir, MD_FN_JOB), data, size, 0600, p)) {
        abort();
    }
    md_job_restore(&errors, &next, setup->store, "a.test", apr_time_from_sec(3600),
                   apr_time_from_sec(1795963858), p);
    if (errors < 0 || errors > 1000) {
        fprintf(stderr, "fuzz_store_files: job.json gave %d errors\n", errors);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    if (size < 1) {
        return 0;
    }
    p = fuzz_pool();
    if (data[0] & 1) {
        job_json(data + 1, size - 1, p);
    }
    else {
        store_json(data + 1, size - 1, p);
    }
    apr_pool_destroy(p);
    return 0;
}
