/* Telling AddressSanitizer and ThreadSanitizer about stack switches.
 * Without these hooks ASan reports false stack overflows and TSan loses
 * track of which "thread" runs; with them both check fiber code normally. */
#ifndef NH_RUNTIME_SANITIZER_H
#define NH_RUNTIME_SANITIZER_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define NH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NH_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define NH_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NH_TSAN 1
#endif
#endif

#ifdef NH_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define nh__asan_start(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define nh__asan_finish(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#define nh__asan_unpoison(addr, size) __asan_unpoison_memory_region(addr, size)
#else
#define nh__asan_start(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define nh__asan_finish(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define nh__asan_unpoison(addr, size) ((void)(addr), (void)(size))
#endif

#ifdef NH_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#define nh__tsan_current() __tsan_get_current_fiber()
#define nh__tsan_create() __tsan_create_fiber(0)
#define nh__tsan_destroy(f) __tsan_destroy_fiber(f)
#define nh__tsan_switch(f) __tsan_switch_to_fiber(f, 0)
#else
#define nh__tsan_current() ((void *)0)
#define nh__tsan_create() ((void *)0)
#define nh__tsan_destroy(f) ((void)(f))
#define nh__tsan_switch(f) ((void)(f))
#endif

#endif
