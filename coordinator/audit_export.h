/*
 * `mpic-coordinator --export-audit`: writes the audit stream as JSON Lines (one record per
 * line, oldest first, each with its stream id as "audit_id") for long-term storage, using a
 * plain blocking Redis connection; resumable with --since <last audit_id>.
 */
#ifndef MPIC_AUDIT_EXPORT_H
#define MPIC_AUDIT_EXPORT_H

#include <stdio.h>

#include "config.h"

/**
 * Exports records with ids after `since` (NULL or "-": from the start) to out. Returns the
 * number of records written, or -1 (with a message on stderr) when Redis fails.
 */
long audit_export_run(const struct config *cfg, const char *since, FILE *out);

#endif
