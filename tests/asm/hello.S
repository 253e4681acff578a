/* The smallest program: print a line and exit 0. */
#include "lib.inc"
        .globl  _start
_start:
        PRINTS  "Hello, world!\n"
        xor     %edi, %edi
        call    exit
