/* md_version: the module's version, logged at start-up, shown by a2md and sent in the CA's
 * User-Agent. */
#ifndef md_version_h
#define md_version_h

#define MD_MODULE_VERSION "3.0.0-dev"

#endif /* md_version_h */
