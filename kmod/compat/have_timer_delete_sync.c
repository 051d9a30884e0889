/* v6.2 (and 6.1.y) "timers: Provide timer_delete[_sync]()" */
#include <linux/timer.h>

int probe(struct timer_list *t);
int probe(struct timer_list *t)
{
	return timer_delete_sync(t);
}
