#ifndef MONGO_AUDIT_CMALLOC_SHIM_H
#define MONGO_AUDIT_CMALLOC_SHIM_H
// glibc's allocator tuning (mallopt), which Swift's Glibc module does not import.
#include <malloc.h>
#endif
