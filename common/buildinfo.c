/*
 * mpic_build_info: the version from the build (MPIC_VERSION, set by CMake) and the allocator
 * looked up at run time, so a preloaded jemalloc (LD_PRELOAD) is reported as truly as a
 * linked one and a build configured for jemalloc that lost it at link time shows "libc".
 */
#include "buildinfo.h"

#include <dlfcn.h>
#include <stddef.h>

#include "metrics.h"

#ifndef MPIC_VERSION
#error "MPIC_VERSION must be defined by the build"
#endif

const char *buildinfo_version(void)
{
    return MPIC_VERSION;
}

const char *buildinfo_allocator(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return "asan";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return "asan";
#endif
#endif
    /* jemalloc exports mallctl; glibc's malloc has no such symbol */
    return dlsym(RTLD_DEFAULT, "mallctl") != NULL ? "jemalloc" : "libc";
}

void buildinfo_register(struct metrics_registry *r)
{
    static const char *const labels[] = {"version", "allocator", NULL};
    const char *values[] = {buildinfo_version(), buildinfo_allocator()};
    struct metrics_family *f;

    f = metrics_family_new(r, METRICS_GAUGE, "mpic_build_info",
                           "Always 1; the labels say which mpic version this process runs and "
                           "which malloc it uses.",
                           labels, NULL, 0);
    metrics_set(f, values, 1);
}
