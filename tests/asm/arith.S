/* Integer instructions: ALU ops and flags, multiply/divide, shifts and
 * rotates, bit scans, cmov/setcc, string instructions, loops, calls and
 * recursion. Prints every result, so a difference from the native run
 * points at the instruction. */
#include "lib.inc"

        .globl  _start
_start:
        /* add/adc/sub/sbb carry chains over 128 bits */
        mov     $0xffffffffffffffff, %rax
        mov     $1, %rdx
        mov     $1, %rcx
        xor     %r8d, %r8d
        add     %rcx, %rax
        adc     $0, %rdx
        SHOW_HEX "add128.lo", %rax
        SHOW_HEX "add128.hi", %rdx
        sub     $1, %rax
        sbb     $0, %rdx
        SHOW_HEX "sub128.lo", %rax
        SHOW_HEX "sub128.hi", %rdx

        /* flags through setcc after fully-defined operations */
        mov     $0x7fffffff, %eax
        add     $1, %eax
        seto    %bl
        sets    %bh
        setc    %cl
        setz    %ch
        setp    %dl
        movzx   %bx, %r12
        movzx   %cx, %r13
        movzx   %dl, %r14
        SHOW_HEX "add32.of_sf", %r12
        SHOW_HEX "add32.cf_zf", %r13
        SHOW_HEX "add32.pf", %r14
        mov     $5, %eax
        cmp     $7, %eax
        setl    %bl
        setb    %bh
        setg    %cl
        seta    %ch
        setle   %dl
        setae   %dh
        movzx   %bx, %r12
        movzx   %cx, %r13
        movzx   %dx, %r14
        SHOW_HEX "cmp.l_b", %r12
        SHOW_HEX "cmp.g_a", %r13
        SHOW_HEX "cmp.le_ae", %r14
        mov     $-5, %eax
        cmp     $7, %eax
        setl    %bl
        setb    %bh
        movzx   %bx, %r12
        SHOW_HEX "cmpneg.l_b", %r12

        /* logic, not/neg, inc/dec wrap */
        mov     $0xf0f0f0f0f0f0f0f0, %rax
        mov     $0x0ff00ff00ff00ff0, %rbx
        mov     %rax, %r12
        and     %rbx, %r12
        mov     %rax, %r13
        or      %rbx, %r13
        mov     %rax, %r14
        xor     %rbx, %r14
        SHOW_HEX "and", %r12
        SHOW_HEX "or", %r13
        SHOW_HEX "xor", %r14
        not     %r12
        neg     %r13
        SHOW_HEX "not", %r12
        SHOW_HEX "neg", %r13
        mov     $0xff, %al
        inc     %al
        setz    %bl
        movzx   %al, %r12
        movzx   %bl, %r13
        SHOW_HEX "inc8", %r12
        SHOW_HEX "inc8.zf", %r13
        /* 32-bit ops zero the upper half; 16- and 8-bit ones merge */
        mov     $-1, %rax
        mov     %rax, %rbx
        mov     %rax, %rcx
        add     $1, %eax
        add     $1, %bx
        add     $1, %ch
        SHOW_HEX "zext32", %rax
        SHOW_HEX "merge16", %rbx
        SHOW_HEX "merge8h", %rcx

        /* multiply */
        mov     $0x123456789abcdef1, %rax
        mov     $0xfedcba9876543211, %rcx
        mul     %rcx
        SHOW_HEX "mul.lo", %rax
        SHOW_HEX "mul.hi", %rdx
        mov     $-12345678901, %rax
        mov     $98765432101, %rcx
        imul    %rcx
        SHOW_HEX "imul1.lo", %rax
        SHOW_HEX "imul1.hi", %rdx
        mov     $-7, %rbx
        imul    $1000, %rbx, %r12
        SHOW_DEC "imul3", %r12
        mov     $123456, %r13
        imul    %r13, %r13
        SHOW_DEC "imul2", %r13
        mov     $0x10000, %eax
        mov     $0x10000, %ecx
        mul     %ecx
        SHOW_HEX "mul32.eax", %rax
        SHOW_HEX "mul32.edx", %rdx

        /* divide, unsigned and signed (truncation toward zero) */
        mov     $1, %rdx
        mov     $0x23456789abcdef01, %rax
        mov     $0x1234567, %rcx
        div     %rcx
        SHOW_HEX "div.q", %rax
        SHOW_HEX "div.r", %rdx
        mov     $-1000001, %rax
        cqo
        mov     $7, %rcx
        idiv    %rcx
        SHOW_DEC "idiv.q", %rax
        SHOW_DEC "idiv.r", %rdx
        mov     $-100, %eax
        cdq
        mov     $-7, %ecx
        idiv    %ecx
        movslq  %eax, %r12
        movslq  %edx, %r13
        SHOW_DEC "idiv32.q", %r12
        SHOW_DEC "idiv32.r", %r13
        mov     $200, %ax
        mov     $7, %cl
        div     %cl
        movzx   %al, %ebx
        movzx   %ah, %ecx
        mov     %rbx, %r12
        mov     %rcx, %r13
        SHOW_DEC "div8.q", %r12
        SHOW_DEC "div8.r", %r13

        /* shifts and rotates */
        mov     $0x8000000000000001, %rax
        mov     %rax, %rbx
        mov     %rax, %rcx
        shl     $3, %rax
        sar     $3, %rbx
        shr     $3, %rcx
        SHOW_HEX "shl", %rax
        SHOW_HEX "sar", %rbx
        SHOW_HEX "shr", %rcx
        mov     $0x8000000000000001, %rax
        mov     %rax, %rbx
        rol     $4, %rax
        ror     $4, %rbx
        SHOW_HEX "rol", %rax
        SHOW_HEX "ror", %rbx
        mov     $0x1234, %eax
        stc
        rcl     $1, %ax
        setc    %bl
        movzx   %ax, %r12
        movzx   %bl, %r13
        SHOW_HEX "rcl16", %r12
        SHOW_HEX "rcl16.cf", %r13
        mov     $0x81, %al
        clc
        rcr     $1, %al
        movzx   %al, %r12
        SHOW_HEX "rcr8", %r12
        mov     $0x1122334455667788, %rax
        mov     $0xaabbccddeeff0011, %rdx
        mov     %rax, %rbx
        shld    $12, %rdx, %rax
        shrd    $12, %rdx, %rbx
        SHOW_HEX "shld", %rax
        SHOW_HEX "shrd", %rbx
        mov     $0xabcdef, %eax
        mov     $40, %cl
        shl     %cl, %eax
        SHOW_HEX "shl32.cl40", %rax

        /* bit scans, bit tests, bswap */
        mov     $0x0000100000000800, %rax
        bsf     %rax, %r12
        bsr     %rax, %r13
        SHOW_DEC "bsf", %r12
        SHOW_DEC "bsr", %r13
        mov     $0x55, %eax
        bt      $2, %eax
        setc    %bl
        bts     $1, %eax
        btr     $0, %eax
        btc     $7, %eax
        movzx   %bl, %r12
        SHOW_HEX "bt.cf", %r12
        SHOW_HEX "bts_btr_btc", %rax
        mov     $0x0102030405060708, %rax
        bswap   %rax
        SHOW_HEX "bswap", %rax

        /* sign/zero extension */
        mov     $0x80, %al
        movsbq  %al, %r12
        movzbq  %al, %r13
        SHOW_HEX "movsx8", %r12
        SHOW_HEX "movzx8", %r13
        mov     $0x8000, %eax
        cwde
        cdqe
        SHOW_HEX "cwde_cdqe", %rax

        /* cmov: count the elements of a table above a threshold and track
         * the maximum without branches */
        lea     table(%rip), %rsi
        mov     $8, %ecx
        xor     %r12d, %r12d            /* count > 100 */
        mov     $0x8000000000000000, %r13 /* max (signed) */
        mov     $1, %r14d
1:      mov     (%rsi), %rax
        xor     %edx, %edx
        cmp     $100, %rax
        cmovg   %r14, %rdx
        add     %rdx, %r12
        cmp     %r13, %rax
        cmovg   %rax, %r13
        add     $8, %rsi
        dec     %ecx
        jnz     1b
        SHOW_DEC "cmov.count", %r12
        SHOW_DEC "cmov.max", %r13

        /* xchg, xadd, cmpxchg */
        mov     $1, %rax
        mov     $2, %rbx
        xchg    %rax, %rbx
        lea     scratch(%rip), %rsi
        movq    $10, (%rsi)
        mov     $5, %rcx
        xadd    %rcx, (%rsi)
        mov     (%rsi), %r12
        SHOW_DEC "xadd.old", %rcx
        SHOW_DEC "xadd.new", %r12
        mov     $15, %eax
        mov     $99, %ecx
        lock cmpxchg %rcx, (%rsi)
        setz    %bl
        movzx   %bl, %r12
        mov     (%rsi), %r13
        SHOW_DEC "cmpxchg.zf", %r12
        SHOW_DEC "cmpxchg.mem", %r13

        /* lea arithmetic */
        mov     $7, %rax
        mov     $3, %rbx
        lea     0x10(%rax,%rbx,8), %r12
        SHOW_DEC "lea", %r12

        /* string instructions: stos, movs, scas (strlen), cmps */
        lea     buf(%rip), %rdi
        mov     $'A', %al
        mov     $16, %ecx
        cld
        rep stosb
        lea     buf(%rip), %rsi
        lea     buf2(%rip), %rdi
        mov     $2, %ecx
        rep movsq
        movb    $0, buf2+10(%rip)
        lea     buf2(%rip), %rdi
        xor     %eax, %eax
        mov     $-1, %rcx
        repne scasb
        not     %rcx
        dec     %rcx
        SHOW_DEC "strlen", %rcx
        lea     buf(%rip), %rsi
        lea     buf2(%rip), %rdi
        mov     $16, %ecx
        repe cmpsb
        mov     $16, %r12
        sub     %rcx, %r12
        SHOW_DEC "cmps.stop", %r12
        lea     buf2(%rip), %rsi
        lodsl
        SHOW_HEX "lods", %rax

        /* recursion: fib(20) and factorial(20) */
        mov     $20, %edi
        call    fib
        SHOW_DEC "fib20", %rax
        mov     $20, %edi
        call    fact
        SHOW_DEC "fact20", %rax

        /* a loop instruction summing 1..100 */
        xor     %eax, %eax
        mov     $100, %ecx
1:      add     %rcx, %rax
        loop    1b
        SHOW_DEC "loop.sum", %rax

        /* collatz steps for 27: branches, shifts, lea */
        mov     $27, %rax
        xor     %r12d, %r12d
1:      cmp     $1, %rax
        je      3f
        inc     %r12
        test    $1, %al
        jz      2f
        lea     1(%rax,%rax,2), %rax
        jmp     1b
2:      shr     %rax
        jmp     1b
3:      SHOW_DEC "collatz27", %r12

        /* push/pop, pushf/popf with DF */
        std
        pushfq
        pop     %rax
        cld
        and     $0x400, %eax
        SHOW_HEX "pushf.df", %rax

        xor     %edi, %edi
        call    exit

fib:    cmp     $2, %edi
        jae     1f
        mov     %edi, %eax
        ret
1:      push    %rbx
        push    %rdi
        dec     %edi
        call    fib
        mov     %rax, %rbx
        pop     %rdi
        sub     $2, %edi
        call    fib
        add     %rbx, %rax
        pop     %rbx
        ret

fact:   mov     $1, %eax
        test    %edi, %edi
        jz      2f
1:      imul    %rdi, %rax
        dec     %edi
        jnz     1b
2:      ret

        .section .rodata
        .p2align 3
table:  .quad   5, 300, -20, 101, 100, 7000, -9999, 150

        .bss
scratch: .quad  0
buf:    .skip   32
buf2:   .skip   32
