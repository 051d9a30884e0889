/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The protected machine's identity: the one agent, registration and
 * segment headers agree on.  /etc/machine-id when it holds 32 hex digits,
 * else STATE_DIR/machine-id, created once with random bytes.
 */
#ifndef FERRY_MACHINE_ID_H
#define FERRY_MACHINE_ID_H

#include <stdint.h>

#define FERRY_MACHINE_ID_HEX	32

/* id gets 32 lowercase hex digits and a NUL.  0 or -errno. */
int ferry_machine_id(const char *state_dir, char id[FERRY_MACHINE_ID_HEX + 1]);

/* 1 when s is 32 lowercase hex digits. */
int ferry_machine_id_valid(const char *s);

/* The 16 bytes the hex digits spell (s must be valid). */
void ferry_machine_id_bytes(const char *s, uint8_t out[16]);

#endif /* FERRY_MACHINE_ID_H */
