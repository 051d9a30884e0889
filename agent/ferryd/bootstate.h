/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bootstate: protection across a reboot (docs/boot.md).
 *
 *   boot    initramfs: `ferryd early-attach` attaches the configured disks
 *           before the root file system is mounted read-write
 *   start   ferryd reads what the last shutdown left in the boot-state
 *           file: CLEAN -> re-read only the saved dirty ranges; anything
 *           else -> hash-compare resync of every disk already copied;
 *           then it writes RUNNING durably
 *   stop    SIGTERM: every disk PARKed (bitmap mode), the ring drained to
 *           the spool and sealed, the file says PARKED
 *   end     systemd-shutdown, file systems read-only: `ferryd
 *           shutdown-save` fetches the bitmaps and writes CLEAN + bitmaps
 *           through the block device at the file's extents
 */
#ifndef FERRYD_BOOTSTATE_H
#define FERRYD_BOOTSTATE_H

#include <stddef.h>

struct ferryd;
struct resync;

/* `ferryd early-attach`: ring set up, every configured disk attached. */
int bootstate_early_attach(struct ferryd *fd);

/* `ferryd shutdown-save`: the exit status (0: CLEAN saved and verified). */
int bootstate_shutdown_save(struct ferryd *fd);

/*
 * Before setup: note which disks ferry.ko had attached already (by
 * early-attach), since only their writes since boot are all in the ring.
 */
void bootstate_probe(struct ferryd *fd);

/*
 * After the spool is open, before any disk is attached: make a missing
 * boot-state file, large enough for the configured disks' biggest
 * bitmaps.  Its zero fill is then not captured; a file made once disks
 * are attached is written before its extents can be excluded.
 */
int bootstate_prepare(struct ferryd *fd, char *why, size_t len);

/*
 * After setup, before draining: act on the last shutdown (queue the saved
 * ranges on rs, or hash-compare), size the file, write RUNNING.  0 or
 * -errno with why.
 */
int bootstate_start(struct ferryd *fd, struct resync *rs, char *why,
		    size_t len);

/*
 * At a clean stop, after the drain returned: PARK every disk, drain the
 * ring to the spool until it is empty, write PARKED.  0 or -errno with why.
 */
int bootstate_stop(struct ferryd *fd, char *why, size_t len);

#endif /* FERRYD_BOOTSTATE_H */
