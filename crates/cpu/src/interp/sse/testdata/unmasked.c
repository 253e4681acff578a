/* Host oracle for unmasked SIMD floating-point exceptions, used by the
 * ignored test `unmasked_exceptions_match_host` (it compiles and runs this).
 * Reads lines "op a_hi a_lo b_hi b_lo mxcsr" (hex), runs op xmm1, xmm2
 * under that MXCSR, and prints "mxcsr faulted xmm1_hi xmm1_lo": on #XM the
 * MXCSR and XMM1 are taken from the signal context. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

static sigjmp_buf jb;
static unsigned fault_csr;
static uint64_t fault_x1[2];

static void on_fpe(int sig, siginfo_t *si, void *p) {
    (void)sig; (void)si;
    ucontext_t *uc = p;
    fault_csr = uc->uc_mcontext.fpregs->mxcsr;
    memcpy(fault_x1, &uc->uc_mcontext.fpregs->_xmm[1], 16);
    siglongjmp(jb, 1);
}

#define OP(n, text) case n: __asm__ volatile("movdqu %[a], %%xmm1\n movdqu %[b], %%xmm2\n ldmxcsr %[c]\n " text " %%xmm2, %%xmm1\n stmxcsr %[o]\n movdqu %%xmm1, %[r]" : [r] "=m"(r), [o] "=m"(o) : [a] "m"(a), [b] "m"(b), [c] "m"(c) : "xmm1", "xmm2", "memory"); break;

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fpe;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGFPE, &sa, 0);
    unsigned op, c;
    unsigned long long ah, al, bh, bl;
    while (scanf("%u %llx %llx %llx %llx %x", &op, &ah, &al, &bh, &bl, &c) == 6) {
        uint64_t a[2] = {al, ah}, b[2] = {bl, bh}, r[2] = {0, 0};
        unsigned o = 0;
        if (sigsetjmp(jb, 1) == 0) {
            switch (op) {
                OP(0, "addps") OP(1, "addsd") OP(2, "mulps") OP(3, "mulsd") OP(4, "divps") OP(5, "divsd")
                OP(6, "sqrtps") OP(7, "sqrtsd") OP(8, "subss") OP(9, "cvtpd2ps") OP(10, "minps") OP(11, "cmpps $1,")
                OP(12, "cvtps2dq") OP(13, "cvtsd2ss") OP(14, "maxsd") OP(15, "cvtps2pd")
            }
            printf("%x 0 %llx %llx\n", o, (unsigned long long)r[1], (unsigned long long)r[0]);
        } else {
            printf("%x 1 %llx %llx\n", fault_csr, (unsigned long long)fault_x1[1], (unsigned long long)fault_x1[0]);
        }
    }
    return 0;
}
