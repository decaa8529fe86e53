/* test_store_lock: the store's locks (md_store_lock, MDStoreLocks) in the file system store
 * (md_store_fs_lock.c): exclusion within a process and between processes, waiting, names that
 * do not block each other, the stamp a holder leaves, and release when the holder dies. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>

#include "md_store_fs.h"
#include "unit.h"

static md_store_t *open_store(const char *dir)
{
    md_store_t *store = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, dir, unit_pool));
    return store;
}

START_TEST(lock_excludes_and_releases)
{
    md_store_t *store = open_store(unit_tmpdir());
    md_store_lock_t *a = NULL, *b = NULL, *c = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_store_lock(&a, store, "a.example.org", 0, unit_pool));
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq("a.example.org", a->name);
    /* a second holder in the same process (another job thread) is kept out as well */
    ck_assert_int_eq(APR_EBUSY, md_store_lock(&b, store, "a.example.org", 0, unit_pool));
    ck_assert_ptr_null(b);
    /* waiting does not help while it is held */
    ck_assert_int_eq(APR_EBUSY,
                     md_store_lock(&b, store, "a.example.org", apr_time_from_msec(150), unit_pool));
    /* other names are independent */
    ck_assert_int_eq(APR_SUCCESS, md_store_lock(&c, store, "b.example.org", 0, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_unlock(a));
    ck_assert_int_eq(APR_SUCCESS, md_store_unlock(a)); /* again is fine */
    ck_assert_int_eq(APR_SUCCESS, md_store_lock(&b, store, "a.example.org", 0, unit_pool));
    md_store_unlock(b);
    md_store_unlock(c);
}
END_TEST

START_TEST(lock_keeps_stamp)
{
    md_store_t *store = open_store(unit_tmpdir());
    md_store_lock_t *a = NULL;
    apr_time_t t = apr_time_from_sec(1700000000);

    ck_assert_int_eq(APR_SUCCESS, md_store_lock(&a, store, "s.example.org", 0, unit_pool));
    ck_assert_int_eq(0, a->stamp);
    ck_assert_int_eq(APR_SUCCESS, md_store_lock_stamp(a, t));
    md_store_unlock(a);
    ck_assert_int_eq(APR_EINVAL, md_store_lock_stamp(a, t)); /* not held any more */
    ck_assert_int_eq(APR_SUCCESS, md_store_lock(&a, store, "s.example.org", 0, unit_pool));
    ck_assert_int_eq(t, a->stamp);
    /* a shorter stamp replaces a longer one completely */
    ck_assert_int_eq(APR_SUCCESS, md_store_lock_stamp(a, 5));
    md_store_unlock(a);
    ck_assert_int_eq(APR_SUCCESS, md_store_lock(&a, store, "s.example.org", 0, unit_pool));
    ck_assert_int_eq(5, a->stamp);
    md_store_unlock(a);
}
END_TEST

/* Another process (another server on the same store) holds the lock until it dies. */
START_TEST(lock_between_processes)
{
    const char *dir = unit_tmpdir();
    md_store_t *store = open_store(dir);
    md_store_lock_t *a = NULL;
    int ready[2], status = 0;
    char c = 0;
    pid_t pid;

    ck_assert_int_eq(0, pipe(ready));
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apr_pool_t *p = NULL;
        md_store_lock_t *held = NULL;
        md_store_t *other = NULL;

        apr_pool_create(&p, NULL);
        if (APR_SUCCESS != md_store_fs_open(&other, dir, p)
            || APR_SUCCESS != md_store_lock(&held, other, "p.example.org", 0, p)) {
            _exit(1);
        }
        if (write(ready[1], "x", 1) != 1) {
            _exit(2);
        }
        pause(); /* until killed: never lets go itself */
        _exit(0);
    }
    ck_assert_int_eq(1, read(ready[0], &c, 1));
    ck_assert_int_eq(APR_EBUSY,
                     md_store_lock(&a, store, "p.example.org", apr_time_from_msec(100), unit_pool));
    kill(pid, SIGKILL);
    ck_assert_int_eq(pid, waitpid(pid, &status, 0));
    /* the kernel let go of the dead holder's lock */
    ck_assert_int_eq(APR_SUCCESS,
                     md_store_lock(&a, store, "p.example.org", apr_time_from_sec(5), unit_pool));
    md_store_unlock(a);
    close(ready[0]);
    close(ready[1]);
}
END_TEST

START_TEST(lock_refuses_traversal)
{
    md_store_t *store = open_store(unit_tmpdir());
    md_store_lock_t *a = NULL;

    ck_assert_int_eq(APR_EINVAL, md_store_lock(&a, store, "../x", 0, unit_pool));
    ck_assert_int_eq(APR_EINVAL, md_store_lock(&a, store, "..", 0, unit_pool));
    ck_assert_int_eq(APR_EINVAL, md_store_lock(&a, store, "", 0, unit_pool));
    ck_assert_ptr_null(a);
}
END_TEST

Suite *suite_store_lock(void)
{
    Suite *s = suite_create("store_lock");
    TCase *tc = unit_tcase("fs");

    tcase_add_test(tc, lock_excludes_and_releases);
    tcase_add_test(tc, lock_keeps_stamp);
    tcase_add_test(tc, lock_between_processes);
    tcase_add_test(tc, lock_refuses_traversal);
    suite_add_tcase(s, tc);
    return s;
}
