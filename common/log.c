/*
 * Leveled logging: formats one line per call onto stderr (systemd/journald friendly), with an
 * ISO-8601 UTC timestamp, the level and the component name set by log_init().
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum log_level log_current_level = LOG_LEVEL_INFO;
static char log_component[64] = "mpic";

static const char *const log_level_names[] = {"error", "warn", "info", "debug"};

void log_init(const char *component)
{
    snprintf(log_component, sizeof(log_component), "%s", component);
}

void log_set_level(enum log_level level)
{
    log_current_level = level;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i <= LOG_LEVEL_DEBUG; i++) {
        if (strcmp(s, log_level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int off;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    off = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   ts.tv_nsec / 1000000, log_level_names[level], log_component);
    if (off < 0 || (size_t)off >= sizeof(line)) off = 0;
    va_start(ap, fmt);
    vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
