// SPDX-License-Identifier: GPL-2.0
/*
 * integ-ring: ferry.ko's ring producer (the same kmod/ferry_ring.c, built
 * against kshim.h) with three producer threads and lib/ring.c's reader as
 * the consumer, on a 64 KiB ring so that it wraps hundreds of times and
 * pads often.  Checks: every record arrives exactly once, seq without gaps
 * and increasing, each producer's records in its order, payload crc and
 * content; PAD records were skipped; consume refuses positions that are
 * not committed record boundaries between tail and head; a corrupt record
 * header is reported, not followed.  Then the reservation limits (payload
 * records stop at the data limit, metadata-only records at the metadata
 * limit, markers at the end; the "roomy" test for leaving metadata mode)
 * and the publish order: a reader that loads next_seq == S and then
 * head == H finds every record with seq < S before H.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ferry/crc32c.h>
#include <ferry/ring.h>
#include "ferry_ring.h"

#define HDR_SIZE	4096u
#define DATA_SIZE	(64u << 10)
#define PRODUCERS	3u
#define PER_PRODUCER	20000u

static struct ferry_ring ring;
static void *mem;
static int failed;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "integ-ring: " __VA_ARGS__);		\
		fputc('\n', stderr);					\
		__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);	\
		return NULL;						\
	}								\
} while (0)

static uint8_t pattern(unsigned int id, unsigned int n, unsigned int i)
{
	return (uint8_t)(id * 31 + n * 7 + i);
}

static uint32_t payload_len(unsigned int id, unsigned int n)
{
	return (n * 2654435761u + id) % 3 ? (n * 97 + id * 13) % 9000 : 0;
}

static void *producer(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg, n, i;
	struct ferry_ring_counts counts = { 0 };

	for (n = 0; n < PER_PRODUCER; n++) {
		uint32_t len = payload_len(id, n);
		struct ferry_ring_res res;
		uint8_t *p;
		int ret;

		/* a failed consumer frees nothing: stop rather than spin */
		while ((ret = ferry_ring_reserve(&ring, len, DATA_SIZE, &counts, &res)) == -ENOSPC &&
		       !__atomic_load_n(&failed, __ATOMIC_RELAXED))
			sched_yield();
		if (ret == -ENOSPC)
			return NULL;
		CHECK(!ret, "producer %u: reserve: %d", id, ret);
		res.rec->offset = n;
		res.rec->len = len;
		res.rec->disk_id = id;
		res.rec->op = len ? FERRY_OP_WRITE : FERRY_OP_DISCARD;
		res.rec->flags = 0;
		p = ferry_rec_payload(res.rec);
		for (i = 0; i < len; i++)
			p[i] = pattern(id, n, i);
		res.rec->crc = crc32c(0, p, len);
		if (n % 64 == 0)
			sched_yield();	/* let others commit ahead of us */
		ferry_ring_commit(&res);
	}
	return NULL;
}

/* Positions that are not committed record boundaries are refused. */
static void *bad_consumes(const struct ferry_rec *r, uint64_t at)
{
	uint64_t tail = ring.hdr->tail;

	CHECK(ferry_ring_consume(&ring, tail - 64) == -EINVAL || tail < 64,
	      "consume behind the tail accepted");
	/*
	 * The producers move head on meanwhile, but never further than one
	 * ring beyond the tail, which only this thread moves.
	 */
	CHECK(ferry_ring_consume(&ring, tail + DATA_SIZE + 64) == -EINVAL,
	      "consume beyond head accepted");
	CHECK(ferry_ring_consume(&ring, ~0ull) == -EINVAL, "consume ~0 accepted");
	CHECK(ferry_ring_consume(&ring, at + 1) == -EINVAL,
	      "unaligned consume accepted");
	if (r->size > 64)
		CHECK(ferry_ring_consume(&ring, at + 64) == -EINVAL,
		      "consume inside a record accepted");
	return NULL;
}

static void *consumer(void *arg)
{
	unsigned int next_n[PRODUCERS] = { 0 }, total = 0, pads = 0, i;
	struct ring_reader rd;
	uint64_t seq = 0, end = 0;

	(void)arg;
	CHECK(!ring_reader_init(&rd, mem, HDR_SIZE + DATA_SIZE), "reader init");
	while (total < PRODUCERS * PER_PRODUCER) {
		const struct ferry_rec *r;
		uint64_t at = ring_reader_pos(&rd);
		int ret = ring_reader_next(&rd, &r);

		CHECK(ret >= 0, "reader at %llu: %d", (unsigned long long)at, ret);
		if (!ret) {
			sched_yield();
			continue;
		}
		if (r->pos != at)
			pads++;
		CHECK(r->seq == seq + 1, "seq %llu after %llu",
		      (unsigned long long)r->seq, (unsigned long long)seq);
		seq = r->seq;
		CHECK(r->disk_id < PRODUCERS && r->offset == next_n[r->disk_id],
		      "producer %u record %llu out of order", r->disk_id,
		      (unsigned long long)r->offset);
		next_n[r->disk_id]++;
		CHECK(r->len == payload_len(r->disk_id, r->offset), "length");
		CHECK(!ring_rec_verify(r), "crc of seq %llu", (unsigned long long)seq);
		for (i = 0; i < ring_rec_payload_len(r); i++)
			CHECK(((const uint8_t *)ring_rec_payload(r))[i] ==
			      pattern(r->disk_id, r->offset, i), "payload byte %u", i);
		if (total % 500 == 7 && bad_consumes(r, r->pos) && failed)
			return NULL;
		total++;
		end = ring_reader_pos(&rd);
		if (total % 3 == 0 || total == PRODUCERS * PER_PRODUCER)
			CHECK(!ferry_ring_consume(&ring, end), "consume %llu",
			      (unsigned long long)end);
	}
	CHECK(pads > 0, "no PAD record was met");
	CHECK(ring.hdr->head > 100ull * DATA_SIZE, "the ring did not wrap");
	printf("integ-ring: %u records, %u pads, %llu wraps\n", total, pads,
	       (unsigned long long)(ring.hdr->head / DATA_SIZE));
	return NULL;
}

/* A record header that claims more than there is must stop the reader. */
static int corrupt_header(void)
{
	struct ferry_ring_res res;
	const struct ferry_rec *r;
	struct ring_reader rd;

	memset(mem, 0, HDR_SIZE + DATA_SIZE);
	ferry_ring_init(&ring, mem, HDR_SIZE, DATA_SIZE);
	if (ferry_ring_reserve(&ring, DATA_SIZE, DATA_SIZE, NULL, &res) != -E2BIG)
		return fprintf(stderr, "integ-ring: oversized record accepted\n"), 1;
	if (ferry_ring_reserve(&ring, 100, DATA_SIZE, NULL, &res))
		return 1;
	res.rec->op = FERRY_OP_WRITE;
	res.rec->len = 100;
	res.rec->crc = 0;
	ferry_ring_commit(&res);
	res.rec->size = 4096;	/* as if the header had been damaged */
	if (ring_reader_init(&rd, mem, HDR_SIZE + DATA_SIZE) ||
	    ring_reader_next(&rd, &r) != -EBADMSG)
		return fprintf(stderr, "integ-ring: corrupt size not detected\n"), 1;
	if (ferry_ring_consume(&ring, 4096) != -EINVAL)
		return fprintf(stderr, "integ-ring: consume past head accepted\n"), 1;
	return 0;
}

#define LFAIL(...) \
	(fprintf(stderr, "integ-ring: limits: " __VA_ARGS__), fputc('\n', stderr), 1)

/* Reserve and commit records of 'payload' bytes until 'limit' refuses. */
static int fill(uint64_t payload, uint64_t limit, unsigned int *n)
{
	struct ferry_ring_res res;
	int ret;

	*n = 0;
	while (!(ret = ferry_ring_reserve(&ring, payload, limit, NULL, &res))) {
		res.rec->op = payload ? FERRY_OP_WRITE : FERRY_OP_DIRTY;
		res.rec->len = (uint32_t)payload;
		ferry_ring_commit(&res);
		(*n)++;
	}
	return ret;
}

static uint64_t used(void)
{
	return ring.hdr->head - ring.hdr->tail;
}

/*
 * From an empty ring: 1000-byte records (1088 in the ring) up to the data
 * limit, 64-byte metadata records up to the metadata limit, markers up to
 * the end, each refused exactly there; the ring is roomy only below a
 * quarter of the data limit; an oversized payload is E2BIG for its limit.
 */
static int limits(void)
{
	uint64_t dl, ml;
	unsigned int n;
	int ret;

	memset(mem, 0, HDR_SIZE + DATA_SIZE);
	ferry_ring_init(&ring, mem, HDR_SIZE, DATA_SIZE);
	dl = ferry_ring_data_limit(&ring);
	ml = ferry_ring_meta_limit(&ring);
	if (dl != DATA_SIZE - DATA_SIZE / 8 || ml != DATA_SIZE - 4096)
		return LFAIL("limits %llu %llu", (unsigned long long)dl,
			     (unsigned long long)ml);
	if (!ferry_ring_roomy(&ring))
		return LFAIL("an empty ring is not roomy");
	ret = fill(1000, dl, &n);
	if (ret != -ENOSPC || used() > dl || used() + 1088 <= dl || n != dl / 1088)
		return LFAIL("data records: %d after %u, used %llu", ret, n,
			     (unsigned long long)used());
	if (ferry_ring_roomy(&ring))
		return LFAIL("a ring at the data limit is roomy");
	ret = fill(0, ml, &n);
	if (ret != -ENOSPC || used() != ml)
		return LFAIL("metadata records: %d, used %llu", ret,
			     (unsigned long long)used());
	if (fill(1000, dl, &n) != -ENOSPC || n)
		return LFAIL("a payload record went past the data limit");
	ret = fill(0, DATA_SIZE, &n);
	if (ret != -ENOSPC || used() != DATA_SIZE || n != 4096 / 64)
		return LFAIL("markers: %d after %u, used %llu", ret, n,
			     (unsigned long long)used());
	if (ferry_ring_reserve(&ring, dl, dl, NULL, &(struct ferry_ring_res){ 0 }) != -E2BIG)
		return LFAIL("a payload larger than its limit is not E2BIG");
	/* a fresh ring filled to a quarter of the data limit exactly */
	ferry_ring_init(&ring, mem, HDR_SIZE, DATA_SIZE);
	if (fill(0, dl / 4, &n) != -ENOSPC || used() != dl / 4 ||
	    ferry_ring_roomy(&ring))
		return LFAIL("roomy at a quarter of the data limit");
	if (ferry_ring_consume(&ring, 64) || !ferry_ring_roomy(&ring))
		return LFAIL("not roomy below a quarter of the data limit");
	return 0;
}

/*
 * Publish order.  64-byte records only, fewer than fit, so the record with
 * seq k lies at [(k - 1) * 64, k * 64): a reader that loads next_seq == S
 * (acquire) and then head == H must find H >= (S - 1) * 64.  Producers
 * reserve as fast as they can while the reader checks, millions of times.
 */
#define ORDER_SIZE	(8u << 20)
#define ORDER_RECS	(ORDER_SIZE / 64 - 1)

static unsigned int order_done;

static void *order_producer(void *arg)
{
	struct ferry_ring_res res;
	unsigned int i;

	(void)arg;
	for (i = 0; i < ORDER_RECS / PRODUCERS; i++) {
		if (ferry_ring_reserve(&ring, 0, ORDER_SIZE, NULL, &res))
			break;
		res.rec->op = FERRY_OP_DIRTY;
		ferry_ring_commit(&res);
	}
	__atomic_add_fetch(&order_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int publish_order(void)
{
	pthread_t prod[PRODUCERS];
	unsigned long long checks = 0, bad = 0;
	void *omem = aligned_alloc(4096, HDR_SIZE + ORDER_SIZE);
	unsigned int i;

	if (!omem)
		return 1;
	memset(omem, 0, HDR_SIZE + ORDER_SIZE);
	ferry_ring_init(&ring, omem, HDR_SIZE, ORDER_SIZE);
	for (i = 0; i < PRODUCERS; i++)
		pthread_create(&prod[i], NULL, order_producer, NULL);
	while (__atomic_load_n(&order_done, __ATOMIC_ACQUIRE) < PRODUCERS) {
		uint64_t s = __atomic_load_n(&ring.hdr->next_seq, __ATOMIC_ACQUIRE);
		uint64_t h = __atomic_load_n(&ring.hdr->head, __ATOMIC_ACQUIRE);

		checks++;
		if (h < (s - 1) * 64 && !bad++)
			fprintf(stderr, "integ-ring: next_seq %llu seen with head %llu\n",
				(unsigned long long)s, (unsigned long long)h);
	}
	for (i = 0; i < PRODUCERS; i++)
		pthread_join(prod[i], NULL);
	if (ring.hdr->next_seq != 1 + PRODUCERS * (ORDER_RECS / PRODUCERS))
		bad++;
	free(omem);
	printf("integ-ring: publish order: %llu checks, %llu bad\n", checks, bad);
	return bad != 0;
}

int main(void)
{
	pthread_t prod[PRODUCERS], cons;
	unsigned int i;

	mem = aligned_alloc(4096, HDR_SIZE + DATA_SIZE);
	if (!mem)
		return 1;
	if (corrupt_header() || limits() || publish_order())
		return 1;
	memset(mem, 0, HDR_SIZE + DATA_SIZE);
	ferry_ring_init(&ring, mem, HDR_SIZE, DATA_SIZE);
	pthread_create(&cons, NULL, consumer, NULL);
	for (i = 0; i < PRODUCERS; i++)
		pthread_create(&prod[i], NULL, producer, (void *)(uintptr_t)i);
	for (i = 0; i < PRODUCERS; i++)
		pthread_join(prod[i], NULL);
	pthread_join(cons, NULL);
	free(mem);
	return failed;
}
