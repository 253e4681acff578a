/* Benchmark: integer ALU loop. A xorshift generator feeds a mix of add,
 * sub, xor, and, or, shifts, rotates, imul, lea, cmp/adc and neg; the
 * result is folded into a checksum. argv[1] = iterations (in thousands). */
#include "../lib.inc"

        .globl  _start
_start:
        mov     $300000, %edi
        mov     %rsp, %rsi
        call    iterations
        imul    $1000, %rax, %r15       /* iterations */
        mov     $0x9e3779b97f4a7c15, %r8 /* xorshift state */
        xor     %r9d, %r9d              /* checksum */
        mov     $0x12345, %r10
        xor     %r11d, %r11d
1:      mov     %r8, %rax               /* xorshift64 */
        shl     $13, %rax
        xor     %rax, %r8
        mov     %r8, %rax
        shr     $7, %rax
        xor     %rax, %r8
        mov     %r8, %rax
        shl     $17, %rax
        xor     %rax, %r8
        mov     %r8, %rax
        imul    $0x2545f491, %rax, %rax
        rol     $11, %rax
        lea     (%r10,%rax,2), %rcx
        sub     %r11, %rcx
        and     $0x7fffffff, %ecx
        or      %rcx, %r10
        xor     %rax, %r10
        ror     $3, %r10
        mov     %r8, %rdx
        sar     $5, %rdx
        neg     %rdx
        cmp     %rdx, %r10
        adc     %rcx, %r9
        add     %r10, %r9
        xor     %rdx, %r11
        dec     %r15
        jnz     1b
        SHOW_HEX "alu.checksum", %r9
        SHOW_HEX "alu.state", %r10
        xor     %edi, %edi
        call    exit
