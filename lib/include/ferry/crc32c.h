/* SPDX-License-Identifier: GPL-2.0 */
/*
 * crc32c (Castagnoli, reflected polynomial 0x82f63b78): the one checksum of
 * ferry's userspace.  PCLMULQDQ folding and SSE4.2 crc32 instructions when
 * the CPU has them, slicing-by-8 tables otherwise; all give the same
 * result, chosen once at first use.
 *
 * Convention (as zlib's crc32()): crc32c(0, buf, len) is the standard
 * crc32c of buf (initial ~0, final ~), and
 * crc32c(crc32c(0, a, la), b, lb) == crc32c(0, a||b, la + lb).
 * The kernel's ring records carry exactly crc32c(0, payload, len).
 */
#ifndef FERRY_CRC32C_H
#define FERRY_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* Copy len bytes from src to dst and return crc32c(crc, src, len). */
uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len);

/* The portable table implementation, for tests and benchmarks. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* 1 when the hardware implementation (SSE4.2, + PCLMULQDQ) is in use. */
int crc32c_hw_available(void);

#endif /* FERRY_CRC32C_H */
