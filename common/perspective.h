/*
 * Network perspectives as configured: code, region (its job stream), RIR service region and
 * real-world coordinates. Shared by the coordinator (cohorts, quorum) and the worker (which
 * perspective it is). Distances are great-circle kilometres (haversine, mean Earth radius).
 */
#ifndef MPIC_PERSPECTIVE_H
#define MPIC_PERSPECTIVE_H

#include <stdbool.h>
#include <stddef.h>

#define PERSPECTIVE_CODE_MAX 64   /* bytes including NUL; codes are [a-z0-9.-]{1,63} */
#define PERSPECTIVE_REGION_MAX 64 /* same charset: used inside Redis key names */

enum rir {
    RIR_ARIN = 0,
    RIR_RIPE_NCC = 1,
    RIR_APNIC = 2,
    RIR_LACNIC = 3,
    RIR_AFRINIC = 4,
    RIR_COUNT = 5,
};

struct perspective {
    char code[PERSPECTIVE_CODE_MAX];     /* e.g. "us-east-1"; unique */
    char region[PERSPECTIVE_REGION_MAX]; /* job stream name; unique per perspective */
    enum rir rir;
    double lat; /* degrees, -90..90 */
    double lon; /* degrees, -180..180 */
};

/** Parses "ARIN", "RIPE NCC" (also "RIPE", "RIPE_NCC"), "APNIC", "LACNIC", "AFRINIC"; case-insensitive. */
int perspective_rir_parse(const char *s, enum rir *out);
/** Canonical name: "ARIN", "RIPE NCC", "APNIC", "LACNIC", "AFRINIC". */
const char *perspective_rir_name(enum rir rir);
/** True when s is a valid perspective code / region name ([a-z0-9][a-z0-9.-]{0,62}). */
bool perspective_name_valid(const char *s);
/** Great-circle distance in km between two perspectives. */
double perspective_distance_km(const struct perspective *a, const struct perspective *b);

#endif
