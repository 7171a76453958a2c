/*
 * bare-exit: exits with status 0 and does nothing else: no libc, no start-up code, one system call
 * (built with -nostdlib, see CMakeLists.txt). The benchmarks run it beside `exit` (static glibc) to
 * measure a spawn without the program's own start-up: glibc's static start-up runs CPUID loops
 * (init_cacheinfo) that trap to a virtual machine's hypervisor, 0.6-1.2 ms per start on the VM where
 * umh's figures were taken, and the same for every contender.
 */
void _start(void); /* the entry point: the ELF header names it, nothing calls it */

__attribute__((noreturn, used)) void _start(void)
{
#if defined(__x86_64__)
    __asm__ volatile("mov $231, %eax\n\txor %edi, %edi\n\tsyscall"); /* exit_group(0) */
#elif defined(__aarch64__)
    __asm__ volatile("mov x8, #94\n\tmov x0, #0\n\tsvc #0"); /* exit_group(0) */
#else
#error "bare-exit: no exit_group for this CPU"
#endif
    for (;;) {
    }
}
