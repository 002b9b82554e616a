/* One intrusive doubly linked list: the node lives inside the listed
 * object, so linking and unlinking never allocate and an object can leave
 * its list in O(1) knowing only itself (connections, waiters, defers).
 *
 * A list is a head node whose next/prev point at itself when empty; a node
 * not on any list has next == prev == NULL. Get back from a node to its
 * object with nh__container_of. */
#ifndef NH_UTIL_LIST_H
#define NH_UTIL_LIST_H

#include <stddef.h>

typedef struct nh__list {
  struct nh__list *next, *prev;
} nh__list;

#define nh__container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void nh__list_init(nh__list *head) { head->next = head->prev = head; }
static inline int nh__list_empty(const nh__list *head) { return head->next == head; }
static inline int nh__list_linked(const nh__list *node) { return node->next != NULL; }

static inline void nh__list_insert_after_(nh__list *at, nh__list *node) {
  node->prev = at;
  node->next = at->next;
  at->next->prev = node;
  at->next = node;
}
/* Newest first / oldest first. */
static inline void nh__list_push_front(nh__list *head, nh__list *node) { nh__list_insert_after_(head, node); }
static inline void nh__list_push_back(nh__list *head, nh__list *node) { nh__list_insert_after_(head->prev, node); }

/* Takes node off its list; a node on no list is left alone. */
static inline void nh__list_remove(nh__list *node) {
  if (!node->next)
    return;
  node->prev->next = node->next;
  node->next->prev = node->prev;
  node->next = node->prev = NULL;
}

static inline nh__list *nh__list_first(const nh__list *head) { return nh__list_empty(head) ? NULL : head->next; }
static inline nh__list *nh__list_last(const nh__list *head) { return nh__list_empty(head) ? NULL : head->prev; }

/* Walks the list; the loop body may remove the current node. */
#define nh__list_each_safe(head, it, tmp) for ((it) = (head)->next, (tmp) = (it)->next; (it) != (head); (it) = (tmp), (tmp) = (it)->next)

#endif
