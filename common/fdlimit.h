/*
 * The open-file limit. Both binaries raise their soft RLIMIT_NOFILE to the hard limit at
 * startup (a systemd service starts with 1024 soft), and size their connection caps to what
 * is left after FDLIMIT_RESERVE descriptors for Redis, resolver, logs and the event loop.
 */
#ifndef MPIC_FDLIMIT_H
#define MPIC_FDLIMIT_H

#define FDLIMIT_RESERVE 64

/** Raises the soft limit to the hard one (capped at fs.nr_open); returns the soft limit in
 * effect afterwards (also when raising failed), or -1 when it cannot be read. */
long fdlimit_raise(void);

/** The part of limit a connection cap may use: limit - FDLIMIT_RESERVE, at least 1. */
long fdlimit_usable(long limit);

/**
 * Startup: raises the limit, then lowers *cap (one descriptor each; its config key is name)
 * to fdlimit_usable when it is higher, with a warning; logs the limit and the cap in effect.
 */
void fdlimit_fit(const char *name, int *cap);

#endif
