/* Compiler attributes and the ONCE accessors. */
#ifndef _LINUX_COMPILER_H
#define _LINUX_COMPILER_H

#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
#define __maybe_unused		__attribute__((unused))
#define __always_unused		__attribute__((unused))
#define __always_inline		inline __attribute__((always_inline))
#define __must_check		__attribute__((warn_unused_result))
#define __init
#define __exit
#define __ro_after_init
#define fallthrough		__attribute__((fallthrough))
#define barrier()		__asm__ __volatile__("" : : : "memory")

/*
 * A volatile access of the object's own width: under -fsanitize=thread the
 * compiler reports WRITE_ONCE as one store of that width, as the kernel's
 * KCSAN sees it.
 */
#define READ_ONCE(x)		(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, val)					\
	do {							\
		*(volatile __typeof__(x) *)&(x) = (val);	\
	} while (0)

#endif /* _LINUX_COMPILER_H */
