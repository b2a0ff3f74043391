/*
 * Our own bounds-checked DNS message reader (RFC 1035): header flags, question skipping,
 * answer-section iteration with name decompression (backward pointers only, 255-byte wire cap),
 * and RDATA helpers for CNAME/PTR/NS targets, TXT, A/AAAA and CAA. Every function is safe on
 * arbitrary input: it reports "malformed" instead of reading outside the buffer.
 */
#ifndef MPIC_DNS_MSG_H
#define MPIC_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_MSG_HEADER_LEN 12
#define DNS_MSG_WIRE_NAME_MAX 255 /* RFC 1035 §2.3.4, length octets included */
/* Presentation form without trailing dot: 255 wire bytes can become up to 4x with \DDD escapes. */
#define DNS_MSG_NAME_MAX 1024

#define DNS_MSG_TYPE_A 1
#define DNS_MSG_TYPE_NS 2
#define DNS_MSG_TYPE_CNAME 5
#define DNS_MSG_TYPE_PTR 12
#define DNS_MSG_TYPE_TXT 16
#define DNS_MSG_TYPE_AAAA 28
#define DNS_MSG_TYPE_CAA 257

#define DNS_MSG_RCODE_NOERROR 0
#define DNS_MSG_RCODE_FORMERR 1
#define DNS_MSG_RCODE_SERVFAIL 2
#define DNS_MSG_RCODE_NXDOMAIN 3
#define DNS_MSG_RCODE_NOTIMP 4
#define DNS_MSG_RCODE_REFUSED 5

/** A parsed message header; the buffer stays owned by the caller. */
struct dns_msg {
    const unsigned char *buf;
    size_t len;
    uint16_t id;
    uint16_t flags; /* raw second header word: QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE */
    uint16_t qdcount;
    uint16_t ancount;
    uint16_t nscount;
    uint16_t arcount;
    size_t answer_off; /* offset of the first answer RR (after the question section) */
};

/** One resource record; rdata points into the message buffer. */
struct dns_msg_rr {
    char owner[DNS_MSG_NAME_MAX]; /* presentation form, no trailing dot ("." for the root) */
    uint16_t type;
    uint16_t rclass;
    uint32_t ttl;
    uint16_t rdlen;
    const unsigned char *rdata;
    size_t rdata_off; /* offset of rdata in the message (for compressed names inside it) */
};

/** Walks the answer section. */
struct dns_msg_iter {
    const struct dns_msg *msg;
    size_t off;
    unsigned left;
};

/** Parsed CAA RDATA (RFC 8659 §4.1); tag and value point into the RDATA. */
struct dns_msg_caa {
    uint8_t flags;
    const unsigned char *tag;
    size_t taglen;
    const unsigned char *value;
    size_t valuelen;
};

/** Parses the header and skips the question section. Returns 0, or -1 when malformed. */
int dns_msg_parse(struct dns_msg *msg, const unsigned char *buf, size_t len);

bool dns_msg_qr(const struct dns_msg *msg);
bool dns_msg_tc(const struct dns_msg *msg);
bool dns_msg_ad(const struct dns_msg *msg);
/** The 4-bit header RCODE. */
int dns_msg_rcode(const struct dns_msg *msg);
/** "NOERROR", "SERVFAIL", ...; "RCODE<n>" style text is written by callers for others. */
const char *dns_msg_rcode_name(int rcode);

/**
 * Reads the (possibly compressed) name at `off` into presentation form (no trailing dot, "."
 * for the root; '.', '\\', '"' and bytes outside 0x21-0x7e escaped as \c or \DDD). *end gets
 * the offset just past the name at its original position. Returns 0, or -1 when malformed.
 */
int dns_msg_read_name(const unsigned char *buf, size_t len, size_t off, char *out, size_t outlen,
                      size_t *end);

void dns_msg_answers(const struct dns_msg *msg, struct dns_msg_iter *it);
/** Returns 1 with *rr filled, 0 at the end of the section, -1 when malformed. */
int dns_msg_next(struct dns_msg_iter *it, struct dns_msg_rr *rr);

/** CNAME/NS/PTR: decompresses the target name that must exactly fill the RDATA. 0 or -1. */
int dns_msg_rr_target(const struct dns_msg *msg, const struct dns_msg_rr *rr, char *out,
                      size_t outlen);
/**
 * TXT: concatenates the character-strings (which must exactly fill the RDATA) into out
 * (capacity >= rdlen is always enough); *outlen gets the length (no NUL added). 0 or -1.
 */
int dns_msg_txt_concat(const unsigned char *rdata, size_t rdlen, unsigned char *out,
                       size_t outcap, size_t *outlen);
/** A (4 bytes) or AAAA (16 bytes) to text. 0 or -1. */
int dns_msg_addr_text(uint16_t type, const unsigned char *rdata, size_t rdlen, char *out,
                      size_t outlen);
/** CAA RDATA: flags, tag length (>= 1), tag, value (may be empty). 0 or -1. */
int dns_msg_caa_parse(const unsigned char *rdata, size_t rdlen, struct dns_msg_caa *caa);

/** ASCII case-insensitive name comparison ignoring one trailing dot on either side. */
bool dns_msg_name_equal(const char *a, const char *b);

#endif
