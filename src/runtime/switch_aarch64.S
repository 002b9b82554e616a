/* Fiber context switch for AArch64 (AAPCS64).
 *
 * nh__switch(void **save_sp, void *load_sp) stores the callee-saved
 * registers x19-x28, the frame pointer x29, the link register x30 and the
 * low halves of v8-v15 (d8-d15) in a 160-byte frame on the running stack,
 * saves sp into *save_sp, loads load_sp and restores the same frame, then
 * returns through x30 on the new stack. Frame layout (offsets in bytes):
 *   0 x19 x20 | 16 x21 x22 | 32 x23 x24 | 48 x25 x26 | 64 x27 x28
 *  80 x29 x30 | 96 d8 d9 | 112 d10 d11 | 128 d12 d13 | 144 d14 d15
 *
 * Branch protection (-mbranch-protection=bti, pac-ret or standard, as
 * hardened distribution builds use): the linker marks a binary BTI-guarded
 * only if every object in it says it is compatible, so this file says so
 * (the note at the end) and nh__switch starts with the landing pad an
 * indirect call, such as a PLT entry's br x17, must find: hint #34 is
 * bti c, a no-op on cores without BTI. nh__fiber_trampoline needs none, it
 * is only entered by ret. nh__switch keeps x30 exactly as its caller left
 * it, so pac-ret code on either side works. Without -mbranch-protection the
 * output is unchanged. */
#if defined(__aarch64__)
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define NH_BTI_C hint #34
#define NH_FEATURE_BTI 1
#else
#define NH_BTI_C
#define NH_FEATURE_BTI 0
#endif
#if defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT
#define NH_FEATURE_PAC 2
#else
#define NH_FEATURE_PAC 0
#endif

	.text
	.globl nh__switch
#ifdef NH_SWITCH_HIDDEN /* the library: not exported from libnethttp.so */
	.hidden nh__switch
#endif
	.type nh__switch,%function
	.p2align 4
nh__switch:
	.cfi_startproc
	NH_BTI_C
	sub sp, sp, #160
	stp x19, x20, [sp, #0]
	stp x21, x22, [sp, #16]
	stp x23, x24, [sp, #32]
	stp x25, x26, [sp, #48]
	stp x27, x28, [sp, #64]
	stp x29, x30, [sp, #80]
	stp d8, d9, [sp, #96]
	stp d10, d11, [sp, #112]
	stp d12, d13, [sp, #128]
	stp d14, d15, [sp, #144]
	mov x2, sp
	str x2, [x0]
	mov sp, x1
	ldp x19, x20, [sp, #0]
	ldp x21, x22, [sp, #16]
	ldp x23, x24, [sp, #32]
	ldp x25, x26, [sp, #48]
	ldp x27, x28, [sp, #64]
	ldp x29, x30, [sp, #80]
	ldp d8, d9, [sp, #96]
	ldp d10, d11, [sp, #112]
	ldp d12, d13, [sp, #128]
	ldp d14, d15, [sp, #144]
	add sp, sp, #160
	ret
	.cfi_endproc
	.size nh__switch,.-nh__switch

/* A new fiber's first frame: x19 = entry, x20 = argument. */
	.globl nh__fiber_trampoline
#ifdef NH_SWITCH_HIDDEN /* the library: not exported from libnethttp.so */
	.hidden nh__fiber_trampoline
#endif
	.type nh__fiber_trampoline,%function
	.p2align 4
nh__fiber_trampoline:
	.cfi_startproc
	.cfi_undefined x30
	mov x29, xzr
	mov x0, x20
	blr x19
	brk #0
	.cfi_endproc
	.size nh__fiber_trampoline,.-nh__fiber_trampoline

	.section .note.GNU-stack,"",%progbits

#if NH_FEATURE_BTI || NH_FEATURE_PAC
/* NT_GNU_PROPERTY_TYPE_0 note with GNU_PROPERTY_AARCH64_FEATURE_1_AND. */
	.pushsection .note.gnu.property,"a"
	.p2align 3
	.long 4				/* name size */
	.long 16			/* descriptor size */
	.long 5				/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz "GNU"
	.long 0xc0000000		/* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
	.long 4				/* property size */
	.long NH_FEATURE_BTI | NH_FEATURE_PAC
	.long 0				/* padding to 8 bytes */
	.popsection
#endif
#endif
