/* cppcheck.h: definitions cppcheck needs instead of the httpd headers (whose hook macros it
 * cannot follow). Passed with --include by `make lint`. */
#define APLOGNO(n) "AH" #n ": "
#define APLOG_USE_MODULE(foo) extern int foo##_module_dummy
