/*
 * dcv_check_parameters dispatch: validation_method selects the method family's parser from
 * one table; an unknown method is a 400 issue naming the field.
 */
#ifndef MPIC_DCV_PARAMS_H
#define MPIC_DCV_PARAMS_H

#include "reqfield.h"

/** Parses c->root's dcv_check_parameters into c->out->check_params. */
void dcv_params_parse(struct reqfield_ctx *c);
/** True when method is a validation_method this service implements. */
bool dcv_params_supported(const char *method);

#endif
