// SPDX-License-Identifier: GPL-2.0
/* unit-crc32c: known values, hardware == table at every length and
 * alignment, chaining, and the fused copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ferry/crc32c.h>

static void test_known_values(void **state)
{
	static const uint8_t zeros[32];
	uint8_t ones[32], inc[32];
	int i;

	(void)state;
	/* RFC 3720 B.4 test vectors and the standard check value */
	for (i = 0; i < 32; i++) {
		ones[i] = 0xff;
		inc[i] = i;
	}
	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(crc32c_sw(0, "123456789", 9), 0xe3069283);
	assert_int_equal(crc32c(0, zeros, 32), 0x8a9136aa);
	assert_int_equal(crc32c(0, ones, 32), 0x62a8ab43);
	assert_int_equal(crc32c(0, inc, 32), 0x46dd794e);
	assert_int_equal(crc32c(0, NULL, 0), 0);
}

static void test_hw_equals_table(void **state)
{
	size_t n = 3 * 8192 * 2 + 3 * 256 + 77;
	uint8_t *buf = malloc(n + 16), *dst = malloc(n + 16);
	size_t len, off;

	(void)state;
	srand(1);
	for (len = 0; len < n + 16; len++)
		buf[len] = rand();
	for (off = 0; off < 9; off++) {
		for (len = 0; len + off <= n; len += len < 1024 ? 1 : 997) {
			uint32_t want = crc32c_sw(7, buf + off, len);

			assert_int_equal(crc32c(7, buf + off, len), want);
			assert_int_equal(crc32c_copy(7, dst + (off ^ 5), buf + off, len), want);
			assert_memory_equal(dst + (off ^ 5), buf + off, len);
		}
	}
	free(buf);
	free(dst);
}

static void test_chaining(void **state)
{
	uint8_t buf[50000];
	size_t cut;

	(void)state;
	for (cut = 0; cut < sizeof(buf); cut++)
		buf[cut] = cut * 13;
	for (cut = 0; cut <= sizeof(buf); cut += 1777)
		assert_int_equal(crc32c(crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut),
				 crc32c(0, buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_hw_equals_table),
		cmocka_unit_test(test_chaining),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
