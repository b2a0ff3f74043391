/*
 * What follows a published verdict, run by the coordinator that won lua/publish (exactly
 * once per verdict): the audit record, the target's cooldown, the request's metrics and any
 * security alert, all from one read of the stored request.
 */
#ifndef MPIC_PUBLISHED_H
#define MPIC_PUBLISHED_H

#include "coord.h"

void published_handle(struct coord *co, const char *rid);

#endif
