/* clock_gettime, clock_getres, gettimeofday, time: the values differ
 * between runs, so print only properties of them. */
#include "lib.inc"

#define SYS_gettimeofday 96
#define SYS_time 201
#define SYS_clock_gettime 228
#define SYS_clock_getres 229

        .macro  CLOCK id, buf
        mov     $SYS_clock_gettime, %eax
        mov     $\id, %edi
        lea     \buf(%rip), %rsi
        syscall
        .endm

        /* print 1 if the condition code \cc holds after the preceding
         * cmp (clobbers %rax) */
        .macro  SHOW_IF name, cc
        set\cc  %al
        movzx   %al, %eax
        SHOW_DEC "\name", %rax
        .endm

        .globl  _start
_start:
        CLOCK   1, t0
        SHOW_DEC "monotonic.ret", %rax
        mov     $100000, %ecx
1:      dec     %ecx
        jnz     1b
        CLOCK   1, t1
        mov     t1(%rip), %rax
        imul    $1000000000, %rax, %rax
        add     t1+8(%rip), %rax
        mov     t0(%rip), %rbx
        imul    $1000000000, %rbx, %rbx
        add     t0+8(%rip), %rbx
        cmp     %rbx, %rax
        SHOW_IF "monotonic.nondecreasing", ae

        CLOCK   0, t0
        cmpq    $1600000000, t0(%rip)
        SHOW_IF "realtime.after_2020", g
        cmpq    $1000000000, t0+8(%rip)
        SHOW_IF "realtime.nsec_valid", b

        mov     $SYS_gettimeofday, %eax
        lea     tv(%rip), %rdi
        xor     %esi, %esi
        syscall
        SHOW_DEC "gettimeofday.ret", %rax
        cmpq    $1000000, tv+8(%rip)
        SHOW_IF "gettimeofday.usec_valid", b
        mov     tv(%rip), %rax
        sub     t0(%rip), %rax
        cmp     $2, %rax
        SHOW_IF "gettimeofday.close", be

        mov     $SYS_time, %eax
        lea     tloc(%rip), %rdi
        syscall
        cmp     tloc(%rip), %rax
        SHOW_IF "time.stored", e
        mov     tloc(%rip), %rax
        sub     t0(%rip), %rax
        cmp     $2, %rax
        SHOW_IF "time.close", be

        mov     $SYS_clock_getres, %eax
        mov     $1, %edi
        lea     t1(%rip), %rsi
        syscall
        SHOW_DEC "getres.ret", %rax
        cmpq    $0, t1(%rip)
        SHOW_IF "getres.subsecond", e

        CLOCK   99, t0
        SHOW_DEC "bad_clock", %rax
        mov     $SYS_clock_gettime, %eax
        xor     %edi, %edi
        mov     $8, %esi
        syscall
        SHOW_DEC "bad_pointer", %rax
        xor     %edi, %edi
        call    exit

        .bss
t0:     .skip   16
t1:     .skip   16
tv:     .skip   16
tloc:   .skip   8
