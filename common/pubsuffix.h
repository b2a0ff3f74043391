/*
 * Public Suffix List lookups (libpsl, the system list from Debian's publicsuffix package or
 * libpsl's built-in copy): BR §3.2.2.6 forbids a wildcard whose base name is a public suffix
 * of the list's ICANN DOMAINS section.
 */
#ifndef MPIC_PUBSUFFIX_H
#define MPIC_PUBSUFFIX_H

#include <stdbool.h>

/** True when name (lower-case A-labels, no trailing dot) is an ICANN public suffix. */
bool pubsuffix_is_icann_suffix(const char *name);

#endif
