/*
 * Open-file limit (see fdlimit.h): getrlimit/setrlimit on RLIMIT_NOFILE. An unlimited hard
 * limit is not a valid soft value for descriptors, so the kernel's fs.nr_open caps it.
 */
#include "fdlimit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"
#include "util.h"

#define FDLIMIT_NR_OPEN_FALLBACK 1048576L /* the kernel's default fs.nr_open */

static long fdlimit_nr_open(void)
{
    char buf[32];
    int64_t v;
    FILE *f = fopen("/proc/sys/fs/nr_open", "r");

    if (f == NULL) return FDLIMIT_NR_OPEN_FALLBACK;
    if (fgets(buf, sizeof(buf), f) == NULL) buf[0] = '\0';
    fclose(f);
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == '\n') *p = '\0';
    }
    if (util_parse_int64(buf, 1, INT32_MAX, &v) != 0) return FDLIMIT_NR_OPEN_FALLBACK;
    return (long)v;
}

long fdlimit_raise(void)
{
    struct rlimit rl;
    rlim_t cap = (rlim_t)fdlimit_nr_open(), want;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    want = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > cap) ? cap : rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = want;
        (void)setrlimit(RLIMIT_NOFILE, &rl); /* on failure the old soft limit stays */
        if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    }
    return (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > cap) ? (long)cap : (long)rl.rlim_cur;
}

long fdlimit_usable(long limit)
{
    return limit - FDLIMIT_RESERVE >= 1 ? limit - FDLIMIT_RESERVE : 1;
}

void fdlimit_fit(const char *name, int *cap)
{
    long nofile = fdlimit_raise();

    if (nofile < 0) {
        log_warn("cannot read the open-file limit: %s", strerror(errno));
        return;
    }
    if (*cap > fdlimit_usable(nofile)) {
        log_warn("%s %d exceeds what the open-file limit %ld leaves (%d reserved): using %ld; "
                 "raise the hard limit (systemd LimitNOFILE=, ulimit -Hn) to allow more",
                 name, *cap, nofile, FDLIMIT_RESERVE, fdlimit_usable(nofile));
        *cap = (int)fdlimit_usable(nofile);
    }
    log_info("open-file limit %ld, %s %d", nofile, name, *cap);
}
