/* A load from an unmapped address kills the process with SIGSEGV (139). */
#include "lib.inc"
        .globl  _start
_start:
        PRINTS  "before the fault\n"
        mov     $0x10, %eax
        mov     (%rax), %rax
        PRINTS  "not reached\n"
        xor     %edi, %edi
        call    exit
