// SPDX-License-Identifier: GPL-2.0
/*
 * crc32c: PCLMULQDQ folding or SSE4.2 lanes, slicing-by-8 fallback.
 *
 * Buffers of CLMUL_MIN bytes and more are folded with carry-less
 * multiplication: four 16-byte lanes, each multiplied forward by x^512 mod P
 * per 64-byte step (constants computed at start-up by xpow_raw()), joined,
 * and the last 128 bits reduced with the crc32 instruction.
 *
 * Shorter buffers use the crc32 instruction, whose latency is three cycles
 * and throughput one, so long runs are cut into three lanes of LONG (then
 * SHORT) bytes computed side by side; lane crcs are joined by "shifting" a
 * crc over n zero bytes, a linear map applied with four table lookups
 * (zeros_long, zeros_short):
 *
 *   crc(a || b) = shift(crc(a), |b|) ^ crc0(b)     (crc0: started from 0)
 *
 * crc32c_copy() runs the same loops storing every loaded word, so a payload
 * is read once to be both copied and checksummed.  All internal values are
 * the raw register (no pre/post inversion); the public functions invert on
 * entry and exit, as zlib does.
 */
#include <pthread.h>
#include <string.h>
#include <ferry/crc32c.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "crc32c.c assumes a little-endian host"
#endif

#define POLY	0x82f63b78u
#define LONG	8192u
#define SHORT	256u

static uint32_t table[8][256];
static uint32_t zeros_long[4][256];
static uint32_t zeros_short[4][256];
static int have_hw;
static int have_clmul;
/* fold constants for D = 128, 256, 384, 512 bits: x^(D+63), x^(D-1) mod P */
static uint64_t fold_k[4][2] __attribute__((aligned(16)));
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static uint32_t sw_raw(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		len--;
	}
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		v ^= crc;
		crc = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^
		      table[5][(v >> 16) & 0xff] ^ table[4][(v >> 24) & 0xff] ^
		      table[3][(v >> 32) & 0xff] ^ table[2][(v >> 40) & 0xff] ^
		      table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

/* Raw crc register after feeding n zero bytes into state crc. */
static uint32_t zeros_raw(uint32_t crc, size_t n)
{
	while (n--)
		crc = table[0][crc & 0xff] ^ (crc >> 8);
	return crc;
}

/* Tables applying the linear map "n zero bytes" one byte of crc at a time. */
static void zeros_build(uint32_t z[4][256], size_t n)
{
	uint32_t col[32];
	int i, k, b;

	for (i = 0; i < 32; i++)
		col[i] = zeros_raw(1u << i, n);
	for (k = 0; k < 4; k++) {
		for (b = 0; b < 256; b++) {
			uint32_t v = 0;

			for (i = 0; i < 8; i++)
				if (b & (1 << i))
					v ^= col[8 * k + i];
			z[k][b] = v;
		}
	}
}

static inline uint32_t zeros_apply(uint32_t z[4][256], uint32_t crc)
{
	return z[0][crc & 0xff] ^ z[1][(crc >> 8) & 0xff] ^
	       z[2][(crc >> 16) & 0xff] ^ z[3][crc >> 24];
}

/* x^n mod P as a raw register (bit i is the coefficient of x^(31-i)). */
static uint32_t xpow_raw(unsigned int n)
{
	uint32_t r = 0x80000000u;

	while (n--)
		r = (r >> 1) ^ (r & 1 ? POLY : 0);
	return r;
}

static void crc32c_init(void)
{
	uint32_t n, crc;
	int k;

	for (n = 0; n < 256; n++) {
		crc = n;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ POLY : crc >> 1;
		table[0][n] = crc;
	}
	for (n = 0; n < 256; n++) {
		crc = table[0][n];
		for (k = 1; k < 8; k++) {
			crc = table[0][crc & 0xff] ^ (crc >> 8);
			table[k][n] = crc;
		}
	}
	zeros_build(zeros_long, LONG);
	zeros_build(zeros_short, SHORT);
	for (k = 0; k < 4; k++) {
		fold_k[k][0] = (uint64_t)xpow_raw(128 * (k + 1) + 63) << 32;
		fold_k[k][1] = (uint64_t)xpow_raw(128 * (k + 1) - 1) << 32;
	}
#if defined(__x86_64__)
	have_hw = !!__builtin_cpu_supports("sse4.2");
	have_clmul = have_hw && __builtin_cpu_supports("pclmul");
#endif
}

#if defined(__x86_64__)
#include <nmmintrin.h>

/*
 * One lane-interleaved pass over 3 * lane bytes; dst (may be NULL) gets a
 * copy.  Each lane's words are loaded once, stored once, folded once.
 */
#define HW_LANES(lane, zt)						\
	while (len >= 3 * (lane)) {					\
		uint64_t c0 = crc, c1 = 0, c2 = 0;			\
		const unsigned char *end = p + (lane);			\
		do {							\
			uint64_t a, b, c;				\
									\
			memcpy(&a, p, 8);				\
			memcpy(&b, p + (lane), 8);			\
			memcpy(&c, p + 2 * (lane), 8);			\
			if (copy) {				\
				memcpy(d, &a, 8);			\
				memcpy(d + (lane), &b, 8);		\
				memcpy(d + 2 * (lane), &c, 8);		\
				d += 8;					\
			}						\
			c0 = _mm_crc32_u64(c0, a);			\
			c1 = _mm_crc32_u64(c1, b);			\
			c2 = _mm_crc32_u64(c2, c);			\
			p += 8;						\
		} while (p < end);					\
		crc = zeros_apply(zt, (uint32_t)c0) ^ (uint32_t)c1;	\
		crc = zeros_apply(zt, crc) ^ (uint32_t)c2;		\
		p += 2 * (lane);					\
		if (copy)					\
			d += 2 * (lane);				\
		len -= 3 * (lane);					\
	}

__attribute__((target("sse4.2"), always_inline))
static inline uint32_t hw_raw(uint32_t crc, unsigned char *d,
			      const unsigned char *p, size_t len,
			      const int copy)
{
	while (len && ((uintptr_t)p & 7)) {
		if (copy)
			*d++ = *p;
		crc = _mm_crc32_u8(crc, *p++);
		len--;
	}
	HW_LANES(LONG, zeros_long);
	HW_LANES(SHORT, zeros_short);
	while (len >= 8) {
		uint64_t a;

		memcpy(&a, p, 8);
		if (copy) {
			memcpy(d, &a, 8);
			d += 8;
		}
		crc = (uint32_t)_mm_crc32_u64(crc, a);
		p += 8;
		len -= 8;
	}
	while (len--) {
		if (copy)
			*d++ = *p;
		crc = _mm_crc32_u8(crc, *p++);
	}
	return crc;
}

#include <wmmintrin.h>

#define CLMUL_MIN	256

/* a * x^D mod P, for a 128-bit block polynomial a (reflected). */
__attribute__((target("sse4.2,pclmul"), always_inline))
static inline __m128i fold(__m128i a, __m128i k)
{
	return _mm_xor_si128(_mm_clmulepi64_si128(a, k, 0x00),
			     _mm_clmulepi64_si128(a, k, 0x11));
}

#define LOAD_STORE(x, off) do {							x = _mm_loadu_si128((const __m128i *)(p + (off)));			if (copy)									_mm_storeu_si128((__m128i *)(d + (off)), x);		} while (0)

/*
 * Carry-less multiplication folding, four 16-byte lanes 64 bytes apart:
 * the crc state is xored into the first four bytes, each lane is folded
 * forward by 512 bits per step, the lanes are folded into one, and the
 * crc32 instruction reduces the last 128 bits.  len >= 64.
 */
__attribute__((target("sse4.2,pclmul"), always_inline))
static inline uint32_t clmul_raw(uint32_t crc, unsigned char *d,
				 const unsigned char *p, size_t len,
				 const int copy)
{
	const __m128i *k = (const __m128i *)fold_k;
	__m128i x0, x1, x2, x3, y0, y1, y2, y3;

	LOAD_STORE(x0, 0);
	LOAD_STORE(x1, 16);
	LOAD_STORE(x2, 32);
	LOAD_STORE(x3, 48);
	x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128(crc));
	p += 64;
	if (copy)
		d += 64;
	for (len -= 64; len >= 64; len -= 64) {
		LOAD_STORE(y0, 0);
		LOAD_STORE(y1, 16);
		LOAD_STORE(y2, 32);
		LOAD_STORE(y3, 48);
		x0 = _mm_xor_si128(fold(x0, k[3]), y0);
		x1 = _mm_xor_si128(fold(x1, k[3]), y1);
		x2 = _mm_xor_si128(fold(x2, k[3]), y2);
		x3 = _mm_xor_si128(fold(x3, k[3]), y3);
		p += 64;
		if (copy)
			d += 64;
	}
	x0 = _mm_xor_si128(_mm_xor_si128(fold(x0, k[2]), fold(x1, k[1])),
			   _mm_xor_si128(fold(x2, k[0]), x3));
	for (; len >= 16; len -= 16) {
		LOAD_STORE(y0, 0);
		x0 = _mm_xor_si128(fold(x0, k[0]), y0);
		p += 16;
		if (copy)
			d += 16;
	}
	crc = _mm_crc32_u64(0, _mm_cvtsi128_si64(x0));
	crc = _mm_crc32_u64(crc, _mm_extract_epi64(x0, 1));
	return hw_raw(crc, d, p, len, copy);
}

__attribute__((target("sse4.2,pclmul")))
static uint32_t hw_crc(uint32_t crc, const void *buf, size_t len)
{
	if (have_clmul && len >= CLMUL_MIN)
		return clmul_raw(crc, NULL, buf, len, 0);
	return hw_raw(crc, NULL, buf, len, 0);
}

__attribute__((target("sse4.2,pclmul")))
static uint32_t hw_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
	if (have_clmul && len >= CLMUL_MIN)
		return clmul_raw(crc, dst, src, len, 1);
	return hw_raw(crc, dst, src, len, 1);
}
#endif

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&init_once, crc32c_init);
	return ~sw_raw(~crc, buf, len);
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&init_once, crc32c_init);
#if defined(__x86_64__)
	if (have_hw)
		return ~hw_crc(~crc, buf, len);
#endif
	return ~sw_raw(~crc, buf, len);
}

uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
	pthread_once(&init_once, crc32c_init);
#if defined(__x86_64__)
	if (have_hw)
		return ~hw_copy(~crc, dst, src, len);
#endif
	memcpy(dst, src, len);
	return ~sw_raw(~crc, src, len);
}

int crc32c_hw_available(void)
{
	pthread_once(&init_once, crc32c_init);
	return have_hw;
}
