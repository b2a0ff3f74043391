/*
 * Address choice for connecting checks (see addr_pick.h): records of the asked type and
 * length only, text form by inet_ntop, special-purpose classification by ipfilter.
 */
#include "addr_pick.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ipfilter.h"
#include "util.h"

void addr_pick_take(struct addr_pick_family *fam, int af, const struct dns_lookup_result *res,
                    bool allow_private)
{
    size_t want = af == AF_INET6 ? 16 : 4;
    uint16_t type = af == AF_INET6 ? 28 : 1;

    fam->status = res->status;
    util_strlcpy(fam->error, res->error, sizeof(fam->error));
    if (res->status != DNS_LOOKUP_OK) return;
    for (int i = 0; i < res->nrecords; i++) {
        const struct dns_record *rec = &res->records[i];
        const char *why;
        char text[ADDR_PICK_IP_MAX];

        if (rec->type != type || rec->rdlen != want || rec->rdata == NULL) continue;
        why = af == AF_INET6 ? ipfilter_classify6(rec->rdata) : ipfilter_classify4(rec->rdata);
        if (inet_ntop(af, rec->rdata, text, sizeof(text)) == NULL) continue;
        if (why != NULL && !allow_private) {
            if (fam->special[0] == '\0') {
                util_strlcpy(fam->special, text, sizeof(fam->special));
                fam->special_why = why;
            }
            continue;
        }
        util_strlcpy(fam->ip, text, sizeof(fam->ip));
        return;
    }
}

const char *addr_pick_status_name(enum dns_lookup_status s)
{
    switch (s) {
    case DNS_LOOKUP_OK: return "NOERROR";
    case DNS_LOOKUP_NODATA: return "NODATA";
    case DNS_LOOKUP_NXDOMAIN: return "NXDOMAIN";
    case DNS_LOOKUP_ERROR: return "ERROR";
    }
    return "?";
}
