/*
 * clone3 (Linux 5.3) with a function for the child to run, as glibc's internal __clone3 does:
 * glibc exports no clone3, and a child made by a raw syscall(SYS_clone3) with its own stack would
 * return into the caller's frame on a stack that holds none of it. umh wants clone3 for what
 * clone cannot give: CLONE_CLEAR_SIGHAND (5.5), the kernel resetting every caught signal in the
 * child before it runs (13 rt_sigaction calls fewer in a JVM's child, while its parent is
 * suspended), and the pidfd and the parent's copy of the pid in fields of their own.
 *
 * The trampoline keeps fn and arg in registers the system call preserves; the child, on the
 * stack the kernel switched it to (args->stack + args->stack_size), clears the frame pointer,
 * tells the unwinder it has no caller, calls fn(arg) and exits with its answer (umh's fn never
 * returns: it execs or _exits). It writes no memory but the return address on the child's stack.
 *
 * x86_64 only, for now; elsewhere umh_clone3 answers -ENOSYS and umh clones with clone. An
 * aarch64 trampoline is the same dozen instructions, but nothing here could run it: qemu-user
 * (7.2, the build's emulator) has no clone3, and untested code that runs in a vfork child is not
 * shipped.
 */
#include <errno.h>

#include "umh.h"

#if defined(__x86_64__)
/* syscall keeps every register but rax, rcx and r11: fn stays in rdx, arg moves to r8 */
__asm__(
    ".text\n"
    ".globl umh_clone3\n"
    ".hidden umh_clone3\n"
    ".type umh_clone3, @function\n"
    ".p2align 4\n"
    "umh_clone3:\n"
    "    .cfi_startproc\n"
    "    mov %rcx, %r8\n"
    "    mov $435, %eax\n"              /* __NR_clone3 */
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jz 1f\n"
    "    ret\n"                         /* the parent: the pid, or -errno */
    "1:\n"
    "    .cfi_undefined rip\n"          /* the child: no caller to unwind to */
    "    xor %ebp, %ebp\n"
    "    and $-16, %rsp\n"
    "    mov %r8, %rdi\n"
    "    call *%rdx\n"
    "    mov %eax, %edi\n"
    "    mov $60, %eax\n"               /* __NR_exit */
    "    syscall\n"
    "    hlt\n"
    "    .cfi_endproc\n"
    ".size umh_clone3, .-umh_clone3\n");
#else
long umh_clone3(struct umh_clone_args *args, size_t size, int (*fn)(void *), void *arg)
{
    (void)args, (void)size, (void)fn, (void)arg;
    return -ENOSYS;
}
#endif
