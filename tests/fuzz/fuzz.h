/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the libFuzzer targets: a fatal check that survives -DNDEBUG. */
#ifndef FERRY_FUZZ_H
#define FERRY_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
			__FILE__, __LINE__, #cond);			\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
