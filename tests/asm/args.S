/* The initial stack: argc, argv, envp and the auxiliary vector as Linux
 * lays them out. Prints the arguments and checks auxv entries. */
#include "lib.inc"

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_ENTRY 9
#define AT_RANDOM 25
#define AT_EXECFN 31
#define AT_PLATFORM 15

        .globl  _start
_start:
        mov     %rsp, %rbp
        test    $15, %rsp
        setz    %al
        movzx   %al, %eax
        SHOW_DEC "rsp_aligned", %rax
        mov     (%rbp), %r12            /* argc */
        SHOW_DEC "argc", %r12
        /* argv[1..]: argv[0] is the path, which differs between runs */
        mov     $1, %ebx
1:      cmp     %r12, %rbx
        jae     2f
        PRINTS  "arg: "
        mov     8(%rbp,%rbx,8), %rdi
        call    print_cstr
        call    print_nl
        inc     %rbx
        jmp     1b
2:      cmpq    $0, 8(%rbp,%r12,8)
        sete    %al
        movzx   %al, %eax
        SHOW_DEC "argv_null", %rax
        /* skip envp */
        lea     16(%rbp,%r12,8), %r13
3:      cmpq    $0, (%r13)
        lea     8(%r13), %r13
        jne     3b
        /* r13 = auxv: look up entries */
        mov     $AT_PAGESZ, %edi
        call    getauxval
        SHOW_DEC "AT_PAGESZ", %rax
        mov     $AT_PHENT, %edi
        call    getauxval
        SHOW_DEC "AT_PHENT", %rax
        mov     $AT_PHNUM, %edi
        call    getauxval
        mov     %rax, %r14
        /* AT_PHDR must point at this executable's program headers: the
         * first one's type is PT_LOAD (1) or PT_PHDR (6) */
        mov     $AT_PHDR, %edi
        call    getauxval
        mov     (%rax), %eax
        SHOW_DEC "phdr0.type", %rax
        /* AT_ENTRY is _start */
        mov     $AT_ENTRY, %edi
        call    getauxval
        lea     _start(%rip), %rbx
        cmp     %rbx, %rax
        sete    %al
        movzx   %al, %eax
        SHOW_DEC "entry_is_start", %rax
        mov     $AT_PLATFORM, %edi
        call    getauxval
        mov     %rax, %rdi
        call    print_cstr
        call    print_nl
        /* AT_RANDOM points at 16 bytes inside the stack, above argc */
        mov     $AT_RANDOM, %edi
        call    getauxval
        cmp     %rbp, %rax
        seta    %al
        movzx   %al, %eax
        SHOW_DEC "random_above_sp", %rax
        /* AT_EXECFN is the path: it ends like argv[0] */
        mov     $AT_EXECFN, %edi
        call    getauxval
        mov     %rax, %rdi
        mov     8(%rbp), %rsi
        call    streq
        SHOW_DEC "execfn_is_argv0", %rax
        mov     %r12, %rdi
        call    exit_code

/* getauxval(%edi) from the vector at %r13 (0 if absent) */
getauxval:
        mov     %r13, %rsi
1:      mov     (%rsi), %rax
        test    %rax, %rax
        jz      2f
        cmp     %rdi, %rax
        je      3f
        add     $16, %rsi
        jmp     1b
2:      ret
3:      mov     8(%rsi), %rax
        ret

/* streq(%rdi, %rsi) -> 1 if equal C strings */
streq:  xor     %eax, %eax
1:      mov     (%rdi), %cl
        cmp     (%rsi), %cl
        jne     2f
        inc     %rdi
        inc     %rsi
        test    %cl, %cl
        jnz     1b
        inc     %eax
2:      ret

/* exit with status argc+40 through exit(2), not exit_group */
exit_code:
        lea     40(%rdi), %rdi
        mov     $60, %eax
        syscall
        ud2
