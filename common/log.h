/*
 * Leveled logging for mpic daemons: printf-checked macros that skip formatting below the
 * configured level, one line per event on stderr, prefixed with time, level and component.
 * Debug lines cost one integer compare when disabled.
 */
#ifndef MPIC_LOG_H
#define MPIC_LOG_H

enum log_level {
    LOG_LEVEL_ERROR = 0, /* something failed that an operator must look at */
    LOG_LEVEL_WARN = 1,  /* degraded but recovering (reconnects, rejected input) */
    LOG_LEVEL_INFO = 2,  /* lifecycle: start, stop, config */
    LOG_LEVEL_DEBUG = 3, /* per request / per job detail */
};

extern enum log_level log_current_level;

/** Sets the component name printed on every line ("coordinator", "worker/us-east"). */
void log_init(const char *component);
void log_set_level(enum log_level level);
/** Parses "error", "warn", "info", "debug"; returns -1 when unknown. */
int log_level_parse(const char *s, enum log_level *out);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)                                                                              \
    do {                                                                                           \
        if (log_current_level >= LOG_LEVEL_WARN) log_write(LOG_LEVEL_WARN, __VA_ARGS__);           \
    } while (0)
#define log_info(...)                                                                              \
    do {                                                                                           \
        if (log_current_level >= LOG_LEVEL_INFO) log_write(LOG_LEVEL_INFO, __VA_ARGS__);           \
    } while (0)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_current_level >= LOG_LEVEL_DEBUG) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__);         \
    } while (0)

#endif
