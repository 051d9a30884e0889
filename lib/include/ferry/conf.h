/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Table-driven parser for ferry's configuration files.
 *
 *   # comment                     blank lines and comments are ignored
 *   spool.size = 512M             key = value; spaces around '=' optional
 *   disk = /dev/disk/by-id/xyz    a key marked multi may repeat
 *
 * Values: strings (to the end of the line, trailing blanks trimmed,
 * optionally in double quotes), sizes (bytes with an optional K, M, G, T
 * binary suffix), unsigned integers, booleans (yes/no/true/false/1/0/on/
 * off) and enums (one of a fixed list).  Every key has a default, applied
 * by conf_defaults(); an unknown key or a bad value is an error naming
 * "file:line" and the reason, and stops the load.
 */
#ifndef FERRY_CONF_H
#define FERRY_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conf_type {
	CONF_STR,	/* char[size] at off */
	CONF_SIZE,	/* uint64_t at off, bytes */
	CONF_UINT,	/* uint64_t at off */
	CONF_BOOL,	/* bool at off */
	CONF_ENUM,	/* unsigned int at off: index into choices */
	CONF_CUSTOM,	/* parse(val, obj) does it */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	const char *def;	/* default, as it would be written in the file;
				 * NULL: nothing (custom keys, empty strings) */
	size_t off;		/* offsetof() in the caller's struct */
	size_t size;		/* CONF_STR: buffer size */
	uint64_t min, max;	/* CONF_SIZE, CONF_UINT: inclusive; max 0 = none */
	const char *const *choices;	/* CONF_ENUM: NULL-terminated */
	/* CONF_CUSTOM: 0, or -errno and a reason in why */
	int (*parse)(const char *val, void *obj, char *why, size_t len);
	bool multi;		/* may appear more than once */
	const char *help;	/* one line, for docs and --help */
};

/* Apply every default.  0, or -EINVAL (a bad default: a bug). */
int conf_defaults(const struct conf_key *keys, void *obj, char *err,
		  size_t len);

/*
 * Read path into obj (defaults are not applied here).  0; -ENOENT when
 * the file does not exist (err says so too); -EINVAL with err =
 * "path:line: reason"; other -errno for read errors.
 */
int conf_load(const char *path, const struct conf_key *keys, void *obj,
	      char *err, size_t len);

/* Set one key from text, as a line of the file would.  why: the reason. */
int conf_set(const struct conf_key *keys, void *obj, const char *key,
	     const char *val, char *why, size_t len);

/* "512M" -> 536870912.  0 or -EINVAL (bad suffix, junk, overflow). */
int conf_parse_size(const char *s, uint64_t *out);

#endif /* FERRY_CONF_H */
