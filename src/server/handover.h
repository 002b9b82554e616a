/* The handover of the listening sockets to a new process (handover.c) and
 * the sockets a process is started with (activation.c). Internal. */
#ifndef NH_SERVER_HANDOVER_H
#define NH_SERVER_HANDOVER_H

#include <sys/types.h>

#include "nethttp/log.h"
#include "nethttp/server.h"
#include "nethttp/time.h"

/* The descriptor of the pipe on which a process started by a handover
 * says it serves (beside LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES). */
#define NH__HANDOVER_READY_ENV "NETHTTP_HANDOVER_READY_FD"

/* How long the new process has to say it serves before the old one gives
 * up on it (kills it) and goes on serving. */
#define NH__HANDOVER_READY_TIMEOUT (60 * NH_SEC)

/* A handover under way: the new process and the read end of its pipe. */
typedef struct nh__handover {
  pid_t pid; /* 0: none under way */
  int ready; /* read end, non-blocking; -1 when none */
  nh_time deadline;
} nh__handover;

/* 1 once nh_server_run_set_argv gave a command line to start again. */
int nh__handover_enabled(void);

/* Starts the new process (the command line of nh_server_run_set_argv)
 * with every listener of srv. 0, or an error after logging it. Plain
 * thread. */
int nh__handover_start(nh_server *srv, nh__handover *h);
/* After h->ready became readable, or time passed: 1 once the new process
 * serves, 0 while it starts, -1 when it failed (died, or not ready by the
 * deadline: then killed), logged; h is then reset. */
int nh__handover_check(nh_server *srv, nh__handover *h);

/* activation.c: the name a passed socket had (LISTEN_FDNAMES), if fd is
 * one that a server took; else NULL. */
const char *nh__activation_name(int fd);
/* activation.c: in a process started by a handover, tells the old one
 * that it serves (once; nothing otherwise). */
void nh__handover_ready(nh_logger *log);

#endif
