/* INT3 with no debugger kills the process with SIGTRAP (133). */
#include "lib.inc"
        .globl  _start
_start:
        PRINTS  "breakpoint\n"
        int3
        PRINTS  "not reached\n"
        xor     %edi, %edi
        call    exit
