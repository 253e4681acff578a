/* A store into read-only text is a SIGSEGV too (139). */
#include "lib.inc"
        .globl  _start
_start:
        PRINTS  "writing to text\n"
        lea     _start(%rip), %rax
        movb    $0xc3, (%rax)
        PRINTS  "not reached\n"
        xor     %edi, %edi
        call    exit
