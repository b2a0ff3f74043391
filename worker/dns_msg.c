/*
 * Bounds-checked DNS message reader. Every read is preceded by a length check against the
 * message end; compression pointers must point before the start of the label run that contains
 * them (so decompression always terminates), and decompressed names are capped at 255 wire bytes.
 */
#include "dns_msg.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define DNS_MSG_MAX_JUMPS 127 /* more pointers than a 255-byte name can need */

static uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

static uint32_t rd32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Appends one byte of a label in presentation form; returns -1 when out would overflow. */
static int put_label_byte(unsigned char c, char *out, size_t outlen, size_t *pos)
{
    char tmp[5];
    size_t n;

    if (c == '.' || c == '\\') {
        tmp[0] = '\\';
        tmp[1] = (char)c;
        n = 2;
    } else if (c < 0x21 || c > 0x7e) {
        tmp[0] = '\\';
        tmp[1] = (char)('0' + c / 100);
        tmp[2] = (char)('0' + (c / 10) % 10);
        tmp[3] = (char)('0' + c % 10);
        n = 4;
    } else {
        tmp[0] = (char)c;
        n = 1;
    }
    if (*pos + n >= outlen) return -1;
    memcpy(out + *pos, tmp, n);
    *pos += n;
    return 0;
}

int dns_msg_read_name(const unsigned char *buf, size_t len, size_t off, char *out, size_t outlen,
                      size_t *end)
{
    size_t p = off;
    size_t run_start = off; /* start of the label run being read (pointers must go before it) */
    size_t opos = 0;
    size_t wire = 0;
    size_t after = 0;
    bool jumped = false;
    int jumps = 0;

    if (buf == NULL || out == NULL || outlen < 2) return -1;
    for (;;) {
        if (p >= len) return -1;
        unsigned char b = buf[p];
        if ((b & 0xC0) == 0xC0) {
            if (p + 1 >= len) return -1;
            size_t target = ((size_t)(b & 0x3F) << 8) | buf[p + 1];
            if (target >= run_start || ++jumps > DNS_MSG_MAX_JUMPS) return -1;
            if (!jumped) {
                after = p + 2;
                jumped = true;
            }
            p = target;
            run_start = target;
            continue;
        }
        if ((b & 0xC0) != 0) return -1; /* 0x40 / 0x80 label types are obsolete or unknown */
        wire += 1u + b;
        if (wire > DNS_MSG_WIRE_NAME_MAX) return -1;
        if (b == 0) {
            if (!jumped) after = p + 1;
            break;
        }
        if (p + 1 + b > len) return -1;
        if (opos > 0) {
            if (opos + 1 >= outlen) return -1;
            out[opos++] = '.';
        }
        for (size_t i = 0; i < b; i++) {
            if (put_label_byte(buf[p + 1 + i], out, outlen, &opos) != 0) return -1;
        }
        p += 1u + b;
    }
    if (opos == 0) out[opos++] = '.';
    out[opos] = '\0';
    if (end != NULL) *end = after;
    return 0;
}

int dns_msg_parse(struct dns_msg *msg, const unsigned char *buf, size_t len)
{
    char name[DNS_MSG_NAME_MAX];
    size_t off;

    if (msg == NULL) return -1;
    memset(msg, 0, sizeof(*msg));
    if (buf == NULL || len < DNS_MSG_HEADER_LEN) return -1;
    msg->buf = buf;
    msg->len = len;
    msg->id = rd16(buf);
    msg->flags = rd16(buf + 2);
    msg->qdcount = rd16(buf + 4);
    msg->ancount = rd16(buf + 6);
    msg->nscount = rd16(buf + 8);
    msg->arcount = rd16(buf + 10);
    off = DNS_MSG_HEADER_LEN;
    for (unsigned i = 0; i < msg->qdcount; i++) {
        if (dns_msg_read_name(buf, len, off, name, sizeof(name), &off) != 0) return -1;
        if (off + 4 > len) return -1;
        off += 4;
    }
    msg->answer_off = off;
    return 0;
}

bool dns_msg_qr(const struct dns_msg *msg)
{
    return (msg->flags & 0x8000) != 0;
}

bool dns_msg_tc(const struct dns_msg *msg)
{
    return (msg->flags & 0x0200) != 0;
}

bool dns_msg_ad(const struct dns_msg *msg)
{
    return (msg->flags & 0x0020) != 0;
}

int dns_msg_rcode(const struct dns_msg *msg)
{
    return msg->flags & 0x000F;
}

const char *dns_msg_rcode_name(int rcode)
{
    switch (rcode) {
    case DNS_MSG_RCODE_NOERROR: return "NOERROR";
    case DNS_MSG_RCODE_FORMERR: return "FORMERR";
    case DNS_MSG_RCODE_SERVFAIL: return "SERVFAIL";
    case DNS_MSG_RCODE_NXDOMAIN: return "NXDOMAIN";
    case DNS_MSG_RCODE_NOTIMP: return "NOTIMP";
    case DNS_MSG_RCODE_REFUSED: return "REFUSED";
    default: return "RCODE";
    }
}

void dns_msg_answers(const struct dns_msg *msg, struct dns_msg_iter *it)
{
    it->msg = msg;
    it->off = msg->answer_off;
    it->left = msg->ancount;
}

int dns_msg_next(struct dns_msg_iter *it, struct dns_msg_rr *rr)
{
    const struct dns_msg *m = it->msg;
    size_t off;

    if (it->left == 0) return 0;
    if (dns_msg_read_name(m->buf, m->len, it->off, rr->owner, sizeof(rr->owner), &off) != 0) {
        it->left = 0;
        return -1;
    }
    if (off + 10 > m->len) {
        it->left = 0;
        return -1;
    }
    rr->type = rd16(m->buf + off);
    rr->rclass = rd16(m->buf + off + 2);
    rr->ttl = rd32(m->buf + off + 4);
    rr->rdlen = rd16(m->buf + off + 8);
    off += 10;
    if (off + rr->rdlen > m->len) {
        it->left = 0;
        return -1;
    }
    rr->rdata = m->buf + off;
    rr->rdata_off = off;
    it->off = off + rr->rdlen;
    it->left--;
    return 1;
}

int dns_msg_rr_target(const struct dns_msg *msg, const struct dns_msg_rr *rr, char *out,
                      size_t outlen)
{
    size_t end;

    if (rr->rdata_off + rr->rdlen > msg->len) return -1;
    /* The name must end exactly at the end of the RDATA: bound the read to the RDATA end. */
    if (dns_msg_read_name(msg->buf, rr->rdata_off + rr->rdlen, rr->rdata_off, out, outlen, &end) !=
        0)
        return -1;
    if (end != rr->rdata_off + rr->rdlen) return -1;
    return 0;
}

int dns_msg_txt_concat(const unsigned char *rdata, size_t rdlen, unsigned char *out,
                       size_t outcap, size_t *outlen)
{
    size_t p = 0, o = 0;

    if (rdata == NULL || rdlen == 0) return -1;
    while (p < rdlen) {
        size_t n = rdata[p];
        if (p + 1 + n > rdlen) return -1;
        if (o + n > outcap) return -1;
        if (n > 0) memcpy(out + o, rdata + p + 1, n);
        o += n;
        p += 1 + n;
    }
    *outlen = o;
    return 0;
}

int dns_msg_addr_text(uint16_t type, const unsigned char *rdata, size_t rdlen, char *out,
                      size_t outlen)
{
    if (type == DNS_MSG_TYPE_A && rdlen == 4) {
        return inet_ntop(AF_INET, rdata, out, (socklen_t)outlen) != NULL ? 0 : -1;
    }
    if (type == DNS_MSG_TYPE_AAAA && rdlen == 16) {
        return inet_ntop(AF_INET6, rdata, out, (socklen_t)outlen) != NULL ? 0 : -1;
    }
    return -1;
}

int dns_msg_caa_parse(const unsigned char *rdata, size_t rdlen, struct dns_msg_caa *caa)
{
    if (rdata == NULL || rdlen < 2) return -1;
    size_t taglen = rdata[1];
    if (taglen == 0 || 2 + taglen > rdlen) return -1;
    caa->flags = rdata[0];
    caa->tag = rdata + 2;
    caa->taglen = taglen;
    caa->value = rdata + 2 + taglen;
    caa->valuelen = rdlen - 2 - taglen;
    return 0;
}

/* Length of a presentation name without its trailing (unescaped) dot. */
static size_t name_len_no_dot(const char *s)
{
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == '.') {
        size_t bs = 0;
        while (bs < n - 1 && s[n - 2 - bs] == '\\') bs++;
        if (bs % 2 == 0) n--;
    }
    return n;
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool dns_msg_name_equal(const char *a, const char *b)
{
    size_t la, lb;

    if (a == NULL || b == NULL) return false;
    la = name_len_no_dot(a);
    lb = name_len_no_dot(b);
    if (la != lb) return false;
    for (size_t i = 0; i < la; i++) {
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i])) return false;
    }
    return true;
}
