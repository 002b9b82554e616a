/* The table of debug pages: one line per page. */
#include "debug_internal.h"

const nh__debug_page nh__debug_pages[] = {
    {"/debug/", "this index", nh__debug_index},
    {NULL, NULL, NULL},
};
