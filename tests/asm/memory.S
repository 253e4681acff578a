/* brk and anonymous mmap/munmap/mprotect. Prints sizes, contents and
 * error numbers, never addresses (the native run is randomised). */
#include "lib.inc"

#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_brk 12

        .globl  _start
_start:
        /* brk(0) gives the break; grow it by 100000 bytes and use it. */
        mov     $SYS_brk, %eax
        xor     %edi, %edi
        syscall
        mov     %rax, %r12              /* old break */
        lea     100000(%r12), %rdi
        mov     $SYS_brk, %eax
        syscall
        mov     %rax, %r13
        sub     %r12, %r13
        SHOW_DEC "brk.grow", %r13
        /* fill the new heap with i*3 and sum it */
        mov     %r12, %rdi
        xor     %ecx, %ecx
1:      lea     (%rcx,%rcx,2), %eax
        mov     %eax, (%rdi,%rcx,4)
        inc     %ecx
        cmp     $25000, %ecx
        jne     1b
        xor     %eax, %eax
        xor     %ecx, %ecx
2:      add     (%rdi,%rcx,4), %eax
        inc     %ecx
        cmp     $25000, %ecx
        jne     2b
        SHOW_DEC "brk.sum", %rax
        /* shrink back; brk below the start fails and returns the current break */
        mov     %r12, %rdi
        mov     $SYS_brk, %eax
        syscall
        sub     %r12, %rax
        SHOW_DEC "brk.shrink", %rax
        mov     $SYS_brk, %eax
        mov     $4096, %edi
        syscall
        sub     %r12, %rax
        SHOW_DEC "brk.too_low", %rax

        /* mmap three pages read-write, anonymous, private */
        xor     %edi, %edi
        mov     $3*4096, %esi
        mov     $3, %edx                /* PROT_READ|PROT_WRITE */
        mov     $0x22, %r10d            /* MAP_PRIVATE|MAP_ANONYMOUS */
        mov     $-1, %r8
        xor     %r9d, %r9d
        mov     $SYS_mmap, %eax
        syscall
        mov     %rax, %r14
        mov     %r14, %rax
        and     $0xfff, %eax
        SHOW_DEC "mmap.page_offset", %rax
        mov     (%r14), %rax
        SHOW_DEC "mmap.zeroed", %rax
        movq    $0x1111, (%r14)
        movq    $0x2222, 4096(%r14)
        movq    $0x3333, 8192(%r14)
        /* unmap the middle page, then map it again with MAP_FIXED */
        lea     4096(%r14), %rdi
        mov     $4096, %esi
        mov     $SYS_munmap, %eax
        syscall
        SHOW_DEC "munmap", %rax
        lea     4096(%r14), %rdi
        mov     $4096, %esi
        mov     $3, %edx
        mov     $0x32, %r10d            /* MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS */
        mov     $-1, %r8
        xor     %r9d, %r9d
        mov     $SYS_mmap, %eax
        syscall
        sub     %r14, %rax
        SHOW_DEC "mmap.fixed_at", %rax
        mov     (%r14), %rax
        SHOW_HEX "page0", %rax
        mov     4096(%r14), %rax
        SHOW_HEX "page1.fresh", %rax
        mov     8192(%r14), %rax
        SHOW_HEX "page2", %rax
        /* read-only, read back, writable again */
        mov     %r14, %rdi
        mov     $3*4096, %esi
        mov     $1, %edx
        mov     $SYS_mprotect, %eax
        syscall
        SHOW_DEC "mprotect.ro", %rax
        mov     8192(%r14), %rax
        SHOW_HEX "ro.read", %rax
        mov     %r14, %rdi
        mov     $3*4096, %esi
        mov     $3, %edx
        mov     $SYS_mprotect, %eax
        syscall
        movq    $0x4444, 8192(%r14)
        mov     8192(%r14), %rax
        SHOW_HEX "rw.again", %rax

        /* errors: zero length, no MAP_PRIVATE/MAP_SHARED, unaligned munmap,
         * mprotect of an unmapped range */
        xor     %edi, %edi
        xor     %esi, %esi
        mov     $3, %edx
        mov     $0x22, %r10d
        mov     $-1, %r8
        xor     %r9d, %r9d
        mov     $SYS_mmap, %eax
        syscall
        SHOW_DEC "mmap.len0", %rax
        xor     %edi, %edi
        mov     $4096, %esi
        mov     $3, %edx
        mov     $0x20, %r10d
        mov     $SYS_mmap, %eax
        syscall
        SHOW_DEC "mmap.notype", %rax
        lea     1(%r14), %rdi
        mov     $4096, %esi
        mov     $SYS_munmap, %eax
        syscall
        SHOW_DEC "munmap.unaligned", %rax
        mov     %r14, %rdi
        mov     $3*4096, %esi
        mov     $SYS_munmap, %eax
        syscall
        mov     %r14, %rdi
        mov     $4096, %esi
        mov     $1, %edx
        mov     $SYS_mprotect, %eax
        syscall
        SHOW_DEC "mprotect.unmapped", %rax

        /* a big mapping touched sparsely (demand paging) */
        xor     %edi, %edi
        mov     $64<<20, %esi
        mov     $3, %edx
        mov     $0x22, %r10d
        mov     $-1, %r8
        xor     %r9d, %r9d
        mov     $SYS_mmap, %eax
        syscall
        mov     %rax, %r15
        xor     %ebx, %ebx
        xor     %ecx, %ecx
3:      mov     %rcx, (%r15,%rcx)
        add     (%r15,%rcx), %rbx
        add     $1<<20, %rcx
        cmp     $64<<20, %rcx
        jne     3b
        SHOW_HEX "sparse.sum", %rbx

        xor     %edi, %edi
        call    exit
