/* The exit status reaches the caller. */
#include "lib.inc"
        .globl  _start
_start:
        PRINTS  "exiting with 42\n"
        mov     $42, %edi
        call    exit
