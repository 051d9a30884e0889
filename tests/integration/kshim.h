/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim: the few kernel primitives kmod/ferry_ring.c uses, for compiling
 * that same file in userspace (-include tests/integration/kshim.h).
 * Barriers map to C11 atomics with the same ordering; the spinlock is a
 * pthread spinlock and 'irqsave' has nothing to save.
 */
#ifndef FERRY_KSHIM_H
#define FERRY_KSHIM_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef __u64 u64;

typedef pthread_spinlock_t spinlock_t;

#define spin_lock_init(l)	pthread_spin_init((l), PTHREAD_PROCESS_PRIVATE)
#define spin_lock_irqsave(l, flags) \
	do { (flags) = 0; pthread_spin_lock(l); } while (0)
#define spin_unlock_irqrestore(l, flags) \
	do { (void)(flags); pthread_spin_unlock(l); } while (0)

#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)

#endif /* FERRY_KSHIM_H */
