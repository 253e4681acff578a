/* UD2 kills the process with SIGILL (132). */
#include "lib.inc"
        .globl  _start
_start:
        PRINTS  "executing ud2\n"
        ud2
