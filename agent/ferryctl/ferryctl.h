/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ferryctl subcommands: each is int cmd_NAME(int argc, char **argv) with
 * argv[0] the subcommand, returning the exit status (docs/agent.md).
 */
#ifndef FERRYCTL_H
#define FERRYCTL_H

#define FERRYCTL_EXIT_OK	0
#define FERRYCTL_EXIT_ERROR	1	/* the operation failed */
#define FERRYCTL_EXIT_USAGE	2
#define FERRYCTL_EXIT_NODAEMON	3	/* ferryd is not running */
#define FERRYCTL_EXIT_ATTENTION	4	/* status: something needs a look */

#define FERRYD_SOCKET		"/run/ferry/ferryd.sock"

int cmd_status(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_register(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_resync(int argc, char **argv);

/*
 * Send one request line to ferryd (socket: $FERRYD_SOCKET or the default)
 * and copy its reply to stdout (exit status 0 or 4) or stderr.  Returns
 * ferryd's exit status, or FERRYCTL_EXIT_NODAEMON when it is not there.
 */
int ferryd_request(const char *req);

#endif /* FERRYCTL_H */
