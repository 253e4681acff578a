/* build: -static-pie
 * A static position-independent executable: everything is reached
 * RIP-relative, including a jump table of relative offsets, so it needs no
 * relocations. */
#include "lib.inc"

        .globl  _start
_start:
        /* Dispatch through a table of offsets relative to the table. */
        xor     %r12d, %r12d
        xor     %ebx, %ebx
1:      lea     ops(%rip), %rsi
        movslq  (%rsi,%rbx,4), %rax
        add     %rsi, %rax
        mov     %r12, %rdi
        call    *%rax
        mov     %rax, %r12
        inc     %ebx
        cmp     $4, %ebx
        jne     1b
        SHOW_DEC "pie.result", %r12
        /* Data in .data is writable and found RIP-relative. */
        incq    counter(%rip)
        incq    counter(%rip)
        mov     counter(%rip), %rax
        SHOW_DEC "pie.counter", %rax
        lea     message(%rip), %rdi
        call    print_cstr
        xor     %edi, %edi
        call    exit

op_add: lea     10(%rdi), %rax
        ret
op_mul: imul    $7, %rdi, %rax
        ret
op_sub: lea     -3(%rdi), %rax
        ret
op_sq:  mov     %rdi, %rax
        imul    %rdi, %rax
        ret

        .section .rodata
        .p2align 2
ops:    .long   op_add - ops, op_mul - ops, op_sub - ops, op_sq - ops
message: .asciz "position-independent: ok\n"

        .data
counter: .quad  40
