/* Benchmark: SSE2 double-precision arithmetic: packed addpd, mulpd,
 * subpd, divpd, maxpd, minpd and scalar sqrtsd, cvtsi2sd, cvttsd2si over a
 * damped recurrence. The checksum is the bit pattern of the accumulators,
 * so any rounding difference shows. argv[1] = iterations (in thousands). */
#include "../lib.inc"

        .globl  _start
_start:
        mov     $150000, %edi
        mov     %rsp, %rsi
        call    iterations
        imul    $1000, %rax, %r15
        movapd  init_x(%rip), %xmm0     /* x (2 lanes) */
        movapd  init_v(%rip), %xmm1     /* v */
        movapd  dt(%rip), %xmm2
        movapd  k(%rip), %xmm3
        movapd  lim(%rip), %xmm4
        movapd  neglim(%rip), %xmm5
        xorpd   %xmm6, %xmm6            /* energy accumulator */
        xorpd   %xmm9, %xmm9            /* sqrt accumulator */
        xor     %r14d, %r14d            /* integer fold */
        xor     %ecx, %ecx
1:      /* a = -k*x ; v += a*dt ; x += v*dt */
        movapd  %xmm0, %xmm7
        mulpd   %xmm3, %xmm7
        mulpd   %xmm2, %xmm7
        subpd   %xmm7, %xmm1
        movapd  %xmm1, %xmm8
        mulpd   %xmm2, %xmm8
        addpd   %xmm8, %xmm0
        minpd   %xmm4, %xmm0
        maxpd   %xmm5, %xmm0
        /* energy += v*v / (1 + x*x) */
        movapd  %xmm1, %xmm7
        mulpd   %xmm1, %xmm7
        movapd  %xmm0, %xmm8
        mulpd   %xmm0, %xmm8
        addpd   one(%rip), %xmm8
        divpd   %xmm8, %xmm7
        addpd   %xmm7, %xmm6
        /* scalar: sqrt(i) accumulated, and an integer conversion */
        cvtsi2sd %rcx, %xmm10
        sqrtsd  %xmm10, %xmm10
        addsd   %xmm10, %xmm9
        cvttsd2si %xmm10, %rax
        add     %rax, %r14
        inc     %rcx
        cmp     %r15, %rcx
        jne     1b
        movq    %xmm6, %rax
        SHOW_HEX "sse.energy.lo", %rax
        unpckhpd %xmm6, %xmm6
        movq    %xmm6, %rax
        SHOW_HEX "sse.energy.hi", %rax
        movq    %xmm0, %rax
        SHOW_HEX "sse.x", %rax
        movq    %xmm9, %rax
        SHOW_HEX "sse.sqrtsum", %rax
        SHOW_HEX "sse.intsum", %r14
        xor     %edi, %edi
        call    exit

        .section .rodata
        .p2align 4
init_x: .double 1.0, -0.5
init_v: .double 0.0, 0.25
dt:     .double 0.001, 0.002
k:      .double 4.0, 9.0
lim:    .double 10.0, 10.0
neglim: .double -10.0, -10.0
one:    .double 1.0, 1.0
