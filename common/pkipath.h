/*
 * Syntax rules shared by coordinator and worker for the website-change (BR 3.2.2.4.18)
 * request fields that end up in an HTTP request or a regcomp() call: http_token_path (the part
 * after /.well-known/pki-validation/) and match_regex (POSIX ERE, bounded compile cost).
 */
#ifndef MPIC_PKIPATH_H
#define MPIC_PKIPATH_H

#include <stddef.h>

#define PKIPATH_MAX_PATH 512   /* http_token_path bytes */
#define PKIPATH_MAX_REGEX 512  /* match_regex bytes */
#define PKIPATH_MAX_REPEAT 4096 /* product of all interval bounds {n,m} in a regex */

/**
 * http_token_path: 1..PKIPATH_MAX_PATH bytes of RFC 3986 path characters (unreserved,
 * sub-delims, ':', '@', '/', and '%' followed by two hex digits); no leading '/', no "..",
 * no empty segment ("//"), no encoded '.' or '/' (%2e, %2f), no '?' or '#'.
 * Returns 0, or -1 with the reason in err.
 */
int pkipath_check_path(const char *path, char *err, size_t errlen);

/**
 * match_regex: 1..PKIPATH_MAX_REGEX bytes, no control characters, no back-references
 * (\1..\9, a glibc extension with exponential matching), interval bounds at most 255 and
 * their product at most PKIPATH_MAX_REPEAT (nested intervals make regcomp() slow), and it
 * must compile with regcomp(REG_EXTENDED | REG_NOSUB). Returns 0, or -1 with err.
 */
int pkipath_check_regex(const char *re, char *err, size_t errlen);

#endif
