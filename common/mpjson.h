/*
 * Conversion between jansson values and msgpack: objects become maps with string keys,
 * arrays arrays, strings raw strings, integers/reals/booleans/null their msgpack types.
 * Decoding caps nesting depth, element counts and string sizes, so hostile input cannot
 * exhaust the stack or memory.
 */
#ifndef MPIC_MPJSON_H
#define MPIC_MPJSON_H

#include <jansson.h>
#include <msgpack.h>

#define MPJSON_MAX_DEPTH 16
#define MPJSON_MAX_ITEMS 4096   /* elements of one array or map */
#define MPJSON_MAX_STRING 65536 /* bytes of one string */

/** Packs v; returns 0 or -1 (unsupported value). */
int mpjson_pack(msgpack_packer *pk, const json_t *v);
/** Converts a msgpack object to a new jansson value, or NULL when it violates the caps or
 * contains non-string map keys, binary or extension types. */
json_t *mpjson_unpack(const msgpack_object *o);

/** A JSON string from bytes that may not be UTF-8 (non-ASCII bytes become '?' then). */
json_t *mpjson_text(const char *s);

#endif
