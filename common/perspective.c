/*
 * Perspective helpers: RIR names, code syntax, and great-circle distance (haversine) used for
 * the BR rule that perspectives in a cohort are at least 500 km apart.
 */
#include "perspective.h"

#include <math.h>
#include <strings.h>

static const char *const rir_names[RIR_COUNT] = {"ARIN", "RIPE NCC", "APNIC", "LACNIC", "AFRINIC"};

int perspective_rir_parse(const char *s, enum rir *out)
{
    if (s == NULL) return -1;
    for (int i = 0; i < RIR_COUNT; i++) {
        if (strcasecmp(s, rir_names[i]) == 0) {
            *out = (enum rir)i;
            return 0;
        }
    }
    if (strcasecmp(s, "RIPE") == 0 || strcasecmp(s, "RIPE_NCC") == 0 ||
        strcasecmp(s, "RIPE-NCC") == 0) {
        *out = RIR_RIPE_NCC;
        return 0;
    }
    return -1;
}

const char *perspective_rir_name(enum rir rir)
{
    if ((int)rir < 0 || rir >= RIR_COUNT) return "unknown";
    return rir_names[rir];
}

bool perspective_name_valid(const char *s)
{
    size_t n = 0;
    if (s == NULL) return false;
    for (const char *p = s; *p; p++, n++) {
        char c = *p;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(n > 0 && (c == '-' || c == '.'))) return false;
    }
    return n > 0 && n < PERSPECTIVE_CODE_MAX;
}

double perspective_distance_km(const struct perspective *a, const struct perspective *b)
{
    const double r = 6371.0088; /* mean Earth radius, km */
    const double rad = M_PI / 180.0;
    double dlat = (b->lat - a->lat) * rad;
    double dlon = (b->lon - a->lon) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(a->lat * rad) * cos(b->lat * rad) * sin(dlon / 2) * sin(dlon / 2);
    if (h > 1.0) h = 1.0;
    return 2 * r * asin(sqrt(h));
}
