/* Benchmark: memory copies. Each round copies a 64 KiB buffer three ways
 * (byte loop, 8-byte word loop, rep movsb) and folds a few words of the
 * result into a checksum. argv[1] = rounds. */
#include "../lib.inc"

#define SIZE 65536

        .globl  _start
_start:
        mov     $37500, %edi
        mov     %rsp, %rsi
        call    iterations
        mov     %rax, %r15
        /* fill the source with a pattern */
        lea     src(%rip), %rdi
        xor     %ecx, %ecx
1:      lea     (%rcx,%rcx,4), %eax
        xor     $0x5a, %al
        mov     %al, (%rdi,%rcx)
        inc     %ecx
        cmp     $SIZE, %ecx
        jne     1b
        xor     %r14d, %r14d            /* checksum */
        xor     %r13d, %r13d            /* round */
2:      /* byte loop: src -> dst1 */
        lea     src(%rip), %rsi
        lea     dst1(%rip), %rdi
        xor     %ecx, %ecx
3:      movzbl  (%rsi,%rcx), %eax
        mov     %al, (%rdi,%rcx)
        inc     %rcx
        cmp     $SIZE, %rcx
        jne     3b
        /* word loop: dst1 -> dst2, 8 bytes at a time */
        lea     dst1(%rip), %rsi
        lea     dst2(%rip), %rdi
        xor     %ecx, %ecx
4:      mov     (%rsi,%rcx,8), %rax
        mov     %rax, (%rdi,%rcx,8)
        inc     %rcx
        cmp     $SIZE/8, %rcx
        jne     4b
        /* rep movsb: dst2 -> src, then perturb one byte per round */
        lea     dst2(%rip), %rsi
        lea     src(%rip), %rdi
        mov     $SIZE, %ecx
        cld
        rep movsb
        mov     %r13, %rax
        and     $SIZE-1, %eax
        lea     src(%rip), %rdi
        addb    $1, (%rdi,%rax)
        /* fold: words at a few positions */
        mov     %r13, %rax
        imul    $0x9e37, %rax, %rax
        and     $SIZE/8-1, %eax
        add     (%rdi,%rax,8), %r14
        rol     $5, %r14
        inc     %r13
        cmp     %r15, %r13
        jne     2b
        SHOW_HEX "memcpy.checksum", %r14
        xor     %edi, %edi
        call    exit

        .bss
        .p2align 6
src:    .skip   SIZE
dst1:   .skip   SIZE
dst2:   .skip   SIZE
