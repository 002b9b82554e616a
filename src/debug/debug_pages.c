/* The table of debug pages: one line per page. */
#include "debug_internal.h"

const nh__debug_page nh__debug_pages[] = {
    {"/debug/", "the live page: charts and links", nh__debug_index},
    {"/debug/live.json", "the live page's figures, once a second", nh__debug_live},
    {"/debug/fibers", "every fiber, grouped by stack (?debug=2: one by one)", nh__debug_fibers},
    {"/debug/vars", "expvar-style JSON: command line, memory, counters", nh__debug_vars},
    {"/metrics", "Prometheus metrics (text format 0.0.4)", nh__debug_metrics},
    {"/debug/pprof/profile", "CPU profile (pprof), ?seconds=30", nh__debug_pprof_profile},
    {"/debug/pprof/mutex", "mutex contention (pprof)", nh__debug_pprof_mutex},
    {"/debug/pprof/block", "waits on mutexes, semaphores, channels, wait groups (pprof)", nh__debug_pprof_block},
    {"/debug/trace", "scheduler trace (?seconds=N), Chrome trace-event JSON for Perfetto", nh__debug_trace},
    {"/debug/heap", "memory: the allocator, and nethttp's by owner", nh__debug_heap},
    {NULL, NULL, NULL},
};
