#ifndef MONGO_AUDIT_CMONGOC_SHIM_H
#define MONGO_AUDIT_CMONGOC_SHIM_H
#include <mongoc/mongoc.h>
#include <stdlib.h>
#include <string.h>

// bson_iter_t and bson_t are declared 128-byte aligned, so Swift imports them as opaque types.
// These helpers allocate them in C with the alignment they need. C11's aligned_alloc wants a size that is a
// multiple of the alignment (AddressSanitizer enforces it), hence MA_ALIGNED_SIZE.
#define MA_ALIGNED_SIZE(type) ((sizeof(type) + 127) & ~(size_t)127)
static inline bson_iter_t *ma_iter_new(void) {
    bson_iter_t *iter = (bson_iter_t *)aligned_alloc(128, MA_ALIGNED_SIZE(bson_iter_t));
    memset(iter, 0, sizeof(bson_iter_t));
    return iter;
}
static inline void ma_iter_free(bson_iter_t *iter) { free(iter); }

static inline bson_error_t *ma_error_new(void) {
    bson_error_t *error = (bson_error_t *)calloc(1, sizeof(bson_error_t));
    return error;
}
static inline void ma_error_free(bson_error_t *error) { free(error); }
static inline uint32_t ma_error_domain(const bson_error_t *error) { return error->domain; }
static inline uint32_t ma_error_code(const bson_error_t *error) { return error->code; }
static inline const char *ma_error_message(const bson_error_t *error) { return error->message; }

// A bson_t header (128-byte aligned) to point at documents held elsewhere with bson_init_static.
static inline bson_t *ma_bson_header_new(void) {
    bson_t *header = (bson_t *)aligned_alloc(128, MA_ALIGNED_SIZE(bson_t));
    memset(header, 0, sizeof(bson_t));
    return header;
}
static inline void ma_bson_header_free(bson_t *header) { free(header); }

static inline uint32_t ma_bson_len(const bson_t *doc) { return doc->len; }

// Asks the CPU to start loading the cache line at `address`, to be written soon (no fault if it is invalid).
static inline void ma_prefetch_for_write(const void *address) { __builtin_prefetch(address, 1, 3); }

// A bson_t on the heap, initialised empty; destroyed with bson_destroy.
static inline bson_t *ma_bson_new(void) { return bson_new(); }

// Appends a sub-document / array that is already complete.
static inline bool ma_append_document(bson_t *parent, const char *key, const bson_t *child) {
    return bson_append_document(parent, key, -1, child);
}
static inline bool ma_append_array(bson_t *parent, const char *key, const bson_t *child) {
    return bson_append_array(parent, key, -1, child);
}

// Reads a decimal128 as its canonical string.
static inline void ma_decimal128_string(const bson_iter_t *iter, char *out /* BSON_DECIMAL128_STRING */) {
    bson_decimal128_t dec;
    bson_iter_decimal128(iter, &dec);
    bson_decimal128_to_string(&dec, out);
}
static inline bool ma_append_decimal128_string(bson_t *doc, const char *key, const char *string) {
    bson_decimal128_t dec;
    if (!bson_decimal128_from_string(string, &dec)) return false;
    return bson_append_decimal128(doc, key, -1, &dec);
}
static inline void ma_oid_bytes(const bson_iter_t *iter, uint8_t *out12) {
    memcpy(out12, bson_iter_oid(iter)->bytes, 12);
}
static inline bool ma_append_oid_bytes(bson_t *doc, const char *key, const uint8_t *bytes12) {
    bson_oid_t oid;
    memcpy(oid.bytes, bytes12, 12);
    return bson_append_oid(doc, key, -1, &oid);
}
static inline void ma_oid_generate(uint8_t *out12) {
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    memcpy(out12, oid.bytes, 12);
}

// libmongoc initialises a reply bson_t itself (bson_init), which marks it static; so replies are
// C-allocated, initialised here, and turned into an ordinary heap bson_t by ma_reply_take.
static inline bson_t *ma_reply_new(void) {
    bson_t *reply = (bson_t *)aligned_alloc(128, MA_ALIGNED_SIZE(bson_t));
    bson_init(reply);
    return reply;
}
static inline bson_t *ma_reply_take(bson_t *reply) {
    bson_t *copy = bson_copy(reply);
    bson_destroy(reply);
    free(reply);
    return copy;
}

static inline void ma_iter_copy(bson_iter_t *destination, const bson_iter_t *source) {
    memcpy(destination, source, sizeof(bson_iter_t));
}

// "host:port" of a server description (the host list struct holds fixed C arrays).
static inline const char *ma_server_address(const mongoc_server_description_t *description) {
    return mongoc_server_description_host((mongoc_server_description_t *)description)->host_and_port;
}
#endif
