/* Division by zero kills the process with SIGFPE (136). */
#include "lib.inc"
        .globl  _start
_start:
        PRINTS  "dividing by zero\n"
        mov     $1, %eax
        xor     %edx, %edx
        xor     %ecx, %ecx
        div     %ecx
        PRINTS  "not reached\n"
        xor     %edi, %edi
        call    exit
