/* cppcheck.h: definitions cppcheck needs instead of the httpd headers (whose hook macros it
 * cannot follow). Passed with --include by `make lint`. */
#define APLOGNO(n) "AH" #n ": "
#define APLOG_USE_MODULE(foo) extern int foo##_module_dummy
/* mod_ssl's optional hooks are declared with APR's macro (mod_md_hot.c): the hook's type is
 * what matters for the analysis */
#define APR_DECLARE_EXTERNAL_HOOK(ns, link, ret, name, args) typedef ret ns##_HOOK_##name##_t args;
