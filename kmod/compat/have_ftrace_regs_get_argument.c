/* v6.5 (x86) "ftrace: Add ftrace_regs_get_argument()" family of accessors */
#include <linux/ftrace.h>

unsigned long probe(struct ftrace_regs *fregs)
{
	return ftrace_regs_get_argument(fregs, 0);
}
