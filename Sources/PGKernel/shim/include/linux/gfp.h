#ifndef _LINUX_GFP_H
#define _LINUX_GFP_H

#include <linux/mm.h>

#define __GFP_ZERO	0x100u
#define __GFP_HIGHMEM	0x02u
#define GFP_ATOMIC	0x20u
#define GFP_KERNEL	0xcc0u

#endif /* _LINUX_GFP_H */
