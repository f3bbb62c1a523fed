/* Kernel messages go to the helper's stderr; pgstore shows them on failure. */
#ifndef _LINUX_PRINTK_H
#define _LINUX_PRINTK_H

#include <pgshim-hooks.h>

#ifndef pr_fmt
#define pr_fmt(fmt) fmt
#endif

#define printk(fmt, ...)	pgshim_log(fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...)	pgshim_log(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...)	pgshim_log(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...)	pgshim_log(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_debug(fmt, ...)	do { } while (0)
#define dev_err(dev, fmt, ...)	pgshim_log(fmt, ##__VA_ARGS__)
#define dev_warn(dev, fmt, ...)	pgshim_log(fmt, ##__VA_ARGS__)

#endif /* _LINUX_PRINTK_H */
