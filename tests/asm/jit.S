/* Generated code: write instructions into an RWX mapping and call them;
 * rewrite them in place; unmap and map again at the same address with
 * different code. Each call must run the code as last written. */
#include "lib.inc"

#define SYS_mmap 9
#define SYS_munmap 11

        .macro  MAP_RWX
        xor     %edi, %edi
        mov     $4096, %esi
        mov     $7, %edx                /* PROT_READ|PROT_WRITE|PROT_EXEC */
        mov     $0x22, %r10d            /* MAP_PRIVATE|MAP_ANONYMOUS */
        mov     $-1, %r8
        xor     %r9d, %r9d
        mov     $SYS_mmap, %eax
        syscall
        .endm

        /* emit "mov $\value, %eax; ret" at (%rbx) */
        .macro  EMIT value
        movb    $0xb8, (%rbx)
        movl    $\value, 1(%rbx)
        movb    $0xc3, 5(%rbx)
        .endm

        .globl  _start
_start:
        MAP_RWX
        mov     %rax, %rbx
        EMIT    11
        call    *%rbx
        SHOW_DEC "first", %rax
        EMIT    22
        call    *%rbx
        SHOW_DEC "rewritten", %rax
        /* a loop whose body is patched between iterations */
        xor     %r12d, %r12d
        mov     $5, %r13d
1:      mov     %r13d, 1(%rbx)
        call    *%rbx
        add     %rax, %r12
        dec     %r13d
        jnz     1b
        SHOW_DEC "patched.sum", %r12
        mov     %rbx, %rdi
        mov     $4096, %esi
        mov     $SYS_munmap, %eax
        syscall
        MAP_RWX
        mov     %rax, %rbx
        EMIT    33
        call    *%rbx
        SHOW_DEC "remapped", %rax
        xor     %edi, %edi
        call    exit
