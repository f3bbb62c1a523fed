/*
 * WARN and BUG report their site and condition text to the harness, which
 * turns them into events. WARN_ONCE fires once per site per helper process,
 * as it does once per boot in the kernel.
 */
#ifndef _LINUX_BUG_H
#define _LINUX_BUG_H

#include <linux/compiler.h>
#include <pgshim-hooks.h>

#define WARN_ON(condition) ({						\
	int __ret_warn_on = !!(condition);				\
	if (unlikely(__ret_warn_on))					\
		pgshim_warn(__FILE__, __LINE__, #condition);		\
	unlikely(__ret_warn_on);					\
})

#define WARN(condition, format...) ({					\
	int __ret_warn = !!(condition);					\
	if (unlikely(__ret_warn))					\
		pgshim_warn(__FILE__, __LINE__, #condition);		\
	unlikely(__ret_warn);						\
})

#define WARN_ON_ONCE(condition) ({					\
	static bool __warned;						\
	int __ret_warn_once = !!(condition);				\
	if (unlikely(__ret_warn_once && !__warned)) {			\
		__warned = true;					\
		pgshim_warn(__FILE__, __LINE__, #condition);		\
	}								\
	unlikely(__ret_warn_once);					\
})

#define WARN_ONCE(condition, format...) WARN_ON_ONCE(condition)

#define BUG()		pgshim_bug(__FILE__, __LINE__, "BUG()")
#define BUG_ON(condition)						\
	do {								\
		if (unlikely(condition))				\
			pgshim_bug(__FILE__, __LINE__, #condition);	\
	} while (0)
#define VM_BUG_ON(condition)	BUG_ON(condition)
#define BUILD_BUG_ON(condition)	_Static_assert(!(condition), #condition)

#endif /* _LINUX_BUG_H */
