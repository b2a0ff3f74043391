/*
 * Compact JSON text from jansson values, byte for byte what json_dumps(v, JSON_COMPACT)
 * writes, at a fraction of its cost: jansson's dumper formats every container's address with
 * snprintf into a hash table (its loop check) and grows its buffer one piece at a time. Used
 * for the HTTP answers and the audit records, which are built once and written once.
 */
#ifndef MPIC_JSONOUT_H
#define MPIC_JSONOUT_H

#include <jansson.h>
#include <stddef.h>

#define JSONOUT_MAX_DEPTH 4096 /* deeper (or cyclic) values are refused */

/**
 * The compact JSON text of v (an object or array) as a malloc'ed NUL-terminated string, its
 * length in *len when len is non-NULL; NULL where json_dumps(v, JSON_COMPACT) gives NULL: v is
 * not an object or array, a string or key is not valid UTF-8, or v nests too deep or is
 * cyclic.
 */
char *jsonout_dumps(const json_t *v, size_t *len);

#endif
