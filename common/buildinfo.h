/*
 * What a binary was built as and runs with, for operators: the mpic version and the malloc
 * implementation in use (jemalloc when linked in or preloaded, the C library's otherwise).
 * Logged at start and exported as the gauge mpic_build_info{version, allocator} = 1.
 */
#ifndef MPIC_BUILDINFO_H
#define MPIC_BUILDINFO_H

struct metrics_registry;

/** The mpic version this binary was built from ("0.1.0"). */
const char *buildinfo_version(void);
/**
 * The allocator behind malloc in this process, found at run time: "jemalloc" (its mallctl is
 * linked in or preloaded), "asan" (a sanitizer build) or "libc".
 */
const char *buildinfo_allocator(void);
/** Registers mpic_build_info{version, allocator} = 1 in r. */
void buildinfo_register(struct metrics_registry *r);

#endif
