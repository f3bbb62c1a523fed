/* The errno values io-pgtable returns (Linux's numbering). */
#ifndef _LINUX_ERRNO_H
#define _LINUX_ERRNO_H

#define ENOENT		2
#define ENOMEM		12
#define EFAULT		14
#define EBUSY		16
#define EEXIST		17
#define ENODEV		19
#define EINVAL		22
#define ENOSPC		28
#define ERANGE		34
#define EOPNOTSUPP	95

#endif /* _LINUX_ERRNO_H */
