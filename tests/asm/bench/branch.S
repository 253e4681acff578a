/* Benchmark: branchy code. Each round fills an array from a xorshift
 * generator, sorts it with a recursive quicksort, checks it, and runs a
 * small table-driven state machine (a jump table per state) over random
 * bytes. argv[1] = rounds. */
#include "../lib.inc"

#define N 4096

        .globl  _start
_start:
        mov     $4500, %edi
        mov     %rsp, %rsi
        call    iterations
        mov     %rax, %r15
        mov     $0x2545f4914f6cdd1d, %r12 /* xorshift state */
        xor     %r13d, %r13d            /* checksum */
        xor     %r14d, %r14d            /* round */
1:      /* fill */
        lea     array(%rip), %rdi
        xor     %ecx, %ecx
2:      mov     %r12, %rax
        shl     $13, %rax
        xor     %rax, %r12
        mov     %r12, %rax
        shr     $7, %rax
        xor     %rax, %r12
        mov     %r12, %rax
        shl     $17, %rax
        xor     %rax, %r12
        mov     %r12d, (%rdi,%rcx,4)
        inc     %ecx
        cmp     $N, %ecx
        jne     2b
        /* sort array[0..N) */
        lea     array(%rip), %rdi
        xor     %esi, %esi
        mov     $N-1, %edx
        call    quicksort
        /* verify sorted; fold a few elements */
        lea     array(%rip), %rdi
        mov     $1, %ecx
3:      mov     -4(%rdi,%rcx,4), %eax
        cmp     (%rdi,%rcx,4), %eax
        ja      unsorted
        inc     %ecx
        cmp     $N, %ecx
        jne     3b
        mov     %r14, %rax
        and     $N-1, %eax
        mov     (%rdi,%rax,4), %eax
        add     %rax, %r13
        rol     $7, %r13
        /* state machine over the low bytes of the sorted array */
        xor     %ebx, %ebx              /* state */
        xor     %ecx, %ecx
4:      movzbl  (%rdi,%rcx,4), %eax
        lea     states(%rip), %rdx
        movslq  (%rdx,%rbx,4), %rsi
        add     %rdx, %rsi
        jmp     *%rsi
s0:     cmp     $64, %al
        jb      5f
        mov     $1, %ebx
        jmp     6f
s1:     test    $1, %al
        jz      5f
        mov     $2, %ebx
        inc     %r13
        jmp     6f
s2:     cmp     $200, %al
        ja      7f
        mov     $3, %ebx
        jmp     6f
7:      xor     %ebx, %ebx
        add     $3, %r13
        jmp     6f
s3:     xor     %ebx, %ebx
        add     %rax, %r13
        jmp     6f
5:      xor     %ebx, %ebx
6:      inc     %ecx
        cmp     $N, %ecx
        jne     4b
        inc     %r14
        cmp     %r15, %r14
        jne     1b
        SHOW_HEX "branch.checksum", %r13
        xor     %edi, %edi
        call    exit
unsorted:
        PRINTS  "not sorted!\n"
        mov     $1, %edi
        call    exit

/* quicksort(%rdi = base of u32 array, %esi = lo, %edx = hi), inclusive,
 * Lomuto partition around the middle element. */
quicksort:
        cmp     %edx, %esi
        jge     9f
        push    %rbx
        push    %rbp
        push    %r12
        mov     %esi, %ebx              /* lo */
        mov     %edx, %ebp              /* hi */
        lea     (%rsi,%rdx), %eax
        shr     %eax
        mov     (%rdi,%rax,4), %r8d     /* swap middle to hi */
        mov     (%rdi,%rbp,4), %r9d
        mov     %r9d, (%rdi,%rax,4)
        mov     %r8d, (%rdi,%rbp,4)
        mov     %ebx, %r12d             /* store index */
        mov     %ebx, %ecx
1:      cmp     %ebp, %ecx
        jge     3f
        mov     (%rdi,%rcx,4), %eax
        cmp     %r8d, %eax
        jae     2f
        mov     (%rdi,%r12,4), %r9d
        mov     %eax, (%rdi,%r12,4)
        mov     %r9d, (%rdi,%rcx,4)
        inc     %r12d
2:      inc     %ecx
        jmp     1b
3:      mov     (%rdi,%r12,4), %eax
        mov     %r8d, (%rdi,%r12,4)
        mov     %eax, (%rdi,%rbp,4)
        mov     %ebx, %esi
        lea     -1(%r12), %edx
        call    quicksort
        lea     1(%r12), %esi
        mov     %ebp, %edx
        call    quicksort
        pop     %r12
        pop     %rbp
        pop     %rbx
9:      ret

        .section .rodata
        .p2align 2
states: .long   s0 - states, s1 - states, s2 - states, s3 - states

        .bss
        .p2align 6
array:  .skip   N*4
