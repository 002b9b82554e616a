/* Fiber context switch for x86-64 System V.
 *
 * nh__switch(void **save_sp, void *load_sp) pushes the callee-saved
 * registers (rbp, rbx, r12-r15) on the running stack, stores rsp into
 * *save_sp, switches rsp to load_sp and pops the same registers in reverse,
 * then returns on the new stack. Everything else is caller-saved under the
 * ABI, so this is the whole state of a parked fiber. The SSE control word
 * and x87 control word are left alone: nethttp never changes them and a
 * fiber that does must restore them itself (as with threads' signal
 * handlers). 16 instructions, no system call: no ucontext, no sigprocmask. */
#if defined(__x86_64__)
	.text
	.globl nh__switch
#ifdef NH_SWITCH_HIDDEN /* the library: not exported from libnethttp.so */
	.hidden nh__switch
#endif
	.type nh__switch,@function
	.p2align 4
nh__switch:
	.cfi_startproc
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.cfi_endproc
	.size nh__switch,.-nh__switch

/* A new fiber's first frame: r12 = argument, r13 = entry function (placed
 * there by nh__stack_init_frame). rsp is 16-byte aligned here, as a call
 * requires. The entry never returns; ud2 traps if it ever did. The CFI marks
 * the end of the call chain so unwinders and debuggers stop here. */
	.globl nh__fiber_trampoline
#ifdef NH_SWITCH_HIDDEN /* the library: not exported from libnethttp.so */
	.hidden nh__fiber_trampoline
#endif
	.type nh__fiber_trampoline,@function
	.p2align 4
nh__fiber_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	xorl %ebp, %ebp
	movq %r12, %rdi
	callq *%r13
	ud2
	.cfi_endproc
	.size nh__fiber_trampoline,.-nh__fiber_trampoline

	.section .note.GNU-stack,"",@progbits
#endif
