/* The intrusive list. */
#include "harness.h"

#include "util/list.h"

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

typedef struct item {
  int v;
  nh__list link;
} item;

NH_TEST(list_links_and_unlinks_in_place) {
  nh__list head;
  nh__list_init(&head);
  CHECK(nh__list_empty(&head));
  CHECK(nh__list_first(&head) == NULL);
  item it[4] = {{0, {0}}, {1, {0}}, {2, {0}}, {3, {0}}};
  for (int i = 0; i < 3; i++)
    nh__list_push_back(&head, &it[i].link);
  nh__list_push_front(&head, &it[3].link); /* 3 0 1 2 */
  CHECK(nh__list_linked(&it[1].link));
  nh__list_remove(&it[1].link); /* 3 0 2 */
  CHECK(!nh__list_linked(&it[1].link));
  nh__list_remove(&it[1].link); /* not on a list: nothing happens */
  int order[4], n = 0;
  nh__list *p, *tmp;
  nh__list_each_safe(&head, p, tmp) {
    item *x = nh__container_of(p, item, link);
    order[n++] = x->v;
    if (x->v == 0)
      nh__list_remove(p); /* removing the current node is allowed */
  }
  CHECK_EQ(n, 3);
  CHECK_EQ(order[0], 3);
  CHECK_EQ(order[1], 0);
  CHECK_EQ(order[2], 2);
  CHECK(nh__container_of(nh__list_first(&head), item, link)->v == 3);
  CHECK(nh__container_of(nh__list_last(&head), item, link)->v == 2);
  nh__list_remove(&it[3].link);
  nh__list_remove(&it[2].link);
  CHECK(nh__list_empty(&head));
}

NH_TEST_MAIN()
