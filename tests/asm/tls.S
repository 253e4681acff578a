/* arch_prctl: FS and GS bases, and %fs/%gs-relative accesses. */
#include "lib.inc"

#define SYS_arch_prctl 158
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

        .globl  _start
_start:
        /* The TLS block points at itself at offset 0, as x86-64 TLS does. */
        lea     tls_block(%rip), %rsi
        mov     %rsi, (%rsi)
        mov     $0x1234567890, %rax
        mov     %rax, 8(%rsi)
        mov     $ARCH_SET_FS, %edi
        mov     $SYS_arch_prctl, %eax
        syscall
        SHOW_DEC "set_fs", %rax
        mov     %fs:0, %rax
        lea     tls_block(%rip), %rbx
        cmp     %rbx, %rax
        sete    %al
        movzx   %al, %eax
        SHOW_DEC "fs0_is_self", %rax
        mov     %fs:8, %rax
        SHOW_HEX "fs8", %rax
        movl    $0xabcdef, %fs:16
        mov     tls_block+16(%rip), %eax
        SHOW_HEX "fs16.written", %rax
        /* %fs with a register index */
        mov     $3, %ecx
        movq    $77, %fs:0(,%rcx,8)
        mov     tls_block+24(%rip), %rax
        SHOW_DEC "fs.indexed", %rax
        /* read the base back */
        mov     $ARCH_GET_FS, %edi
        lea     scratch(%rip), %rsi
        mov     $SYS_arch_prctl, %eax
        syscall
        mov     scratch(%rip), %rax
        cmp     %rbx, %rax
        sete    %al
        movzx   %al, %eax
        SHOW_DEC "get_fs_matches", %rax

        /* GS */
        mov     $ARCH_SET_GS, %edi
        lea     gs_block(%rip), %rsi
        mov     $SYS_arch_prctl, %eax
        syscall
        SHOW_DEC "set_gs", %rax
        movq    $0x5a5a, %gs:8
        mov     gs_block+8(%rip), %rax
        SHOW_HEX "gs8", %rax
        mov     $ARCH_GET_GS, %edi
        lea     scratch(%rip), %rsi
        mov     $SYS_arch_prctl, %eax
        syscall
        lea     gs_block(%rip), %rbx
        cmp     scratch(%rip), %rbx
        sete    %al
        movzx   %al, %eax
        SHOW_DEC "get_gs_matches", %rax

        /* errors: unknown code, kernel address, bad pointer */
        mov     $0x1999, %edi
        xor     %esi, %esi
        mov     $SYS_arch_prctl, %eax
        syscall
        SHOW_DEC "bad_code", %rax
        mov     $ARCH_SET_FS, %edi
        mov     $0xffff800000000000, %rsi
        mov     $SYS_arch_prctl, %eax
        syscall
        SHOW_DEC "kernel_base", %rax
        mov     $ARCH_GET_FS, %edi
        mov     $8, %esi
        mov     $SYS_arch_prctl, %eax
        syscall
        SHOW_DEC "get_fs_efault", %rax

        xor     %edi, %edi
        call    exit

        .bss
        .p2align 6
tls_block: .skip 64
gs_block:  .skip 64
scratch:   .quad 0
