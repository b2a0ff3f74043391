/*
 * The listener for this coordinator's notification stream <prefix>:replies:{<id>}: another
 * coordinator that published a verdict for a request we hold XADDs its id here; we read it
 * with XREAD BLOCK on a dedicated connection and render the answer (api_notify_replied).
 */
#ifndef MPIC_REPLIES_H
#define MPIC_REPLIES_H

#include "coord.h"

struct replies;

struct replies *replies_new(struct coord *co);
/** Called when the blocking connection is ready: (re)starts the read loop. */
void replies_kick(struct replies *r);
void replies_free(struct replies *r);

#endif
