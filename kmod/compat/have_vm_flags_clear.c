/* v6.3 bc292ab00f6c "mm: introduce vma->vm_flags wrapper functions" */
#include <linux/mm.h>

void probe(struct vm_area_struct *vma)
{
	vm_flags_clear(vma, VM_MAYWRITE);
}
