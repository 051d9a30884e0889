/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For the hash-compare integration tests: a machine registered with a
 * ferry-ps from ps_harness, and a replica made by uploading segments that
 * write a whole image.
 */
#ifndef FERRY_TEST_HASHCMP_REPLICA_H
#define FERRY_TEST_HASHCMP_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include <ferry/ps_client.h>

#include "ps_harness.h"

/* Register T_MACHINE into STATE (under the scratch dir); a client of it. */
struct ps_client *hc_register(struct t_server *srv, char *state_dir,
			      size_t len);

/* Upload img[0..size) as disk kid/uuid; returns the stream's end_seq. */
uint64_t hc_upload_image(struct ps_client *pc, const uint8_t *img,
			 uint64_t size, uint32_t kid, const uint8_t uuid[16]);

/* size bytes of a pattern with one zero block at 8 KiB; malloc'd. */
uint8_t *hc_image(uint64_t size);

#endif
