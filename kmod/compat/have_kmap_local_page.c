/* v5.11 f3ba3c710ac5 "mm/highmem: Provide kmap_local*" */
#include <linux/highmem.h>

void *probe(struct page *page)
{
	return kmap_local_page(page);
}
