/* SPDX-License-Identifier: GPL-2.0 */
/* Sample .hrl segments for the hrl tests and the fuzz seed corpus. */
#ifndef FERRY_TEST_HRL_SAMPLE_H
#define FERRY_TEST_HRL_SAMPLE_H

#include <ferry/hrl.h>

#define SAMPLE_DISK_A	3u
#define SAMPLE_DISK_B	7u

/* A header for disks SAMPLE_DISK_A and SAMPLE_DISK_B starting at seq. */
void sample_info(struct hrl_seg_info *info, uint64_t start_seq, uint32_t flags);

/* Deterministic payload bytes for (seq, i). */
void sample_fill(void *buf, size_t len, uint64_t seq);

/*
 * A small segment holding one record of every kind (a resync segment) in
 * buf[0..cap); returns its length.  variant 0: every kind; 1: writes only
 * (write-order segment) starting at start_seq; 2: empty.
 */
size_t sample_segment(void *buf, size_t cap, int variant, uint64_t start_seq);

#endif
